// `seabench chart`: result CSVs → one PNG or SVG chart drawn by gnuplot (docs/charts-and-reports.md).
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "harness/cli/commands.hpp"
#include "harness/report/charts/chart_data.hpp"
#include "harness/report/charts/gnuplot_chart.hpp"
#include "harness/report/tables/result_set.hpp"

namespace sb::cli {

int chart_command(const chart_command_options& o) {
  using namespace sb::report;
  chart_data data;
  image_format format{};
  try {
    if ((o.logx && o.linx) || (o.logy && o.liny)) throw input_error("--logx/--linx and --logy/--liny exclude each other");
    format = image_format_for(o.output);
    if (const auto dir = o.output.parent_path(); !dir.empty() && !std::filesystem::is_directory(dir))
      throw input_error(fmt::format("output {}: the folder {} does not exist", o.output.string(), dir.string()));
    chart_request req;
    if (!o.preset.empty()) req.preset = parse_preset(o.preset);
    req.x = o.x;
    req.y = o.y;
    req.by = o.by;
    req.title = o.title;
    if (o.logx) req.logx = true;
    if (o.linx) req.logx = false;
    if (o.logy) req.logy = true;
    if (o.liny) req.logy = false;
    req.scatter = o.scatter;
    req.extrapolate = o.extrapolate;
    const chart_spec spec = resolve_spec(req);
    std::vector<where_term> where;
    for (const auto& w : o.where) where.push_back(parse_where(w));
    const result_set rows = select_rows(load_results(o.inputs), where);
    data = build_chart(rows, spec);
  } catch (const input_error& e) {
    std::fprintf(stderr, "seabench chart: %s\n", e.what());
    return exit_bad_usage;
  }
  for (const auto& n : data.notes) std::fprintf(stderr, "seabench chart: note: %s\n", n.c_str());
  try {
    run_gnuplot(gnuplot_script(data, o.output, format), o.output, o.script);
  } catch (const plot_tool_error& e) {
    std::fprintf(stderr, "seabench chart: %s\n", e.what());
    return exit_harness_failure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seabench chart: harness failure: %s\n", e.what());
    return exit_harness_failure;
  }
  std::size_t failures = 0;
  for (const auto& l : data.lines) failures += l.failures.size();
  std::printf("%s: %zu lines%s\n", o.output.c_str(), data.lines.size(),
              failures ? fmt::format(", {} failed-case markers", failures).c_str() : "");
  return exit_ok;
}

}  // namespace sb::cli
