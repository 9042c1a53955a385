// `seabench report`: result CSVs → markdown or CSV tables in the paper's layouts
// (docs/charts-and-reports.md).
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "harness/cli/commands.hpp"
#include "harness/report/tables/paper_tables.hpp"
#include "harness/report/tables/result_set.hpp"

namespace sb::cli {

int report_command(const report_command_options& o) {
  using namespace sb::report;
  std::string text;
  try {
    report_options ro;
    if (o.layout == "figure") ro.layout = report_layout::figure;
    else if (o.layout == "cost") ro.layout = report_layout::cost;
    else if (o.layout == "stages") ro.layout = report_layout::stages;
    else throw input_error(fmt::format("--layout {}: allowed: figure, cost, stages", o.layout));
    if (o.metric == "both") ro.metric = figure_metric::both;
    else if (o.metric == "latency") ro.metric = figure_metric::latency;
    else if (o.metric == "memory") ro.metric = figure_metric::memory;
    else throw input_error(fmt::format("--metric {}: allowed: latency, memory, both", o.metric));
    std::string format = o.format;
    if (format.empty()) format = o.output.extension() == ".csv" ? "csv" : "md";
    if (format != "md" && format != "csv") throw input_error(fmt::format("--format {}: allowed: md, csv", format));
    ro.per_sample = o.per_sample;
    ro.by = o.by;
    ro.where = o.where;
    std::vector<where_term> where;
    for (const auto& w : o.where) where.push_back(parse_where(w));
    const result_set rows = select_rows(load_results(o.inputs), where);
    const report_document doc = build_report(rows, ro);
    text = format == "csv" ? render_csv(doc) : render_markdown(doc);
  } catch (const input_error& e) {
    std::fprintf(stderr, "seabench report: %s\n", e.what());
    return exit_bad_usage;
  }
  if (o.output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return exit_ok;
  }
  std::ofstream out(o.output);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "seabench report: cannot write %s\n", o.output.c_str());
    return exit_bad_usage;
  }
  std::printf("%s written\n", o.output.c_str());
  return exit_ok;
}

}  // namespace sb::cli
