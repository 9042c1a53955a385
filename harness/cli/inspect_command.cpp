// `seabench inspect CONFIG --case CASE_ID [--head H] [--batch B] -o DIR`: for one SEA case and head,
// the exact attention, SEA's estimated compressed attention, the upsampled mask and the final sparse
// attention, as CSV matrices and a PNG with the four heatmaps side by side (rendered with gnuplot).
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "attention_variants/sea/inspect.hpp"
#include "harness/cli/inspect_command.hpp"

#include "harness/cli/commands.hpp"
#include "harness/config/sweep_plan.hpp"
#include "harness/core/dataset.hpp"
#include "harness/core/errors.hpp"
#include "harness/runner/sweep_runner.hpp"

namespace sb::cli {
namespace fs = std::filesystem;

namespace {

void write_matrix(const fs::path& path, const std::vector<float>& m, int rows, int cols) {
  std::ofstream out(path);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) out << (c ? "," : "") << m[static_cast<std::size_t>(r) * cols + c];
    out << '\n';
  }
  if (!out) throw std::runtime_error(fmt::format("cannot write '{}'", path.string()));
}

/// Mass of the exact attention on the keys the SEA mask kept, averaged over queries.
double mean_mass_on_mask(const sea::head_matrices& m) {
  double total = 0;
  for (int t = 0; t < m.seq_len; ++t) {
    double row = 0;
    for (int j = 0; j < m.seq_len; ++j) {
      const std::size_t e = static_cast<std::size_t>(t) * m.seq_len + j;
      if (m.mask[e] != 0) row += m.exact[e];
    }
    total += row;
  }
  return total / m.seq_len;
}

std::string gnuplot_script(const fs::path& dir, const std::string& title, int t, int k_bins) {
  std::string s = fmt::format(
      "set terminal pngcairo noenhanced size 2000,600 font ',11'\nset output '{}'\nset datafile separator ','\n"
      "set multiplot layout 1,4 title '{}'\nunset key\nset palette rgb 33,13,10\nset ylabel 'query'\n"
      "set yrange [{}:-0.5]\nset format cb '%g'\n",
      (dir / "inspect.png").string(), title, t - 0.5);
  auto panel = [&](const char* file, const std::string& name, const char* xlabel, int columns, bool log) {
    s += fmt::format("set title '{}'\nset xlabel '{}'\nset xrange [-0.5:{}]\n{}\nplot '{}' matrix with image\n",
                     name, xlabel, columns - 0.5,
                     log ? "set logscale cb\nset cbrange [1e-6:1]" : "unset logscale cb\nset cbrange [0:1]",
                     (dir / file).string());
  };
  panel("exact.csv", "exact attention (log colour)", "key", t, true);
  panel("compressed.csv", fmt::format("estimated compressed attention, {} bins (log)", k_bins), "bin", k_bins, true);
  panel("mask.csv", "SEA mask (upsampled to keys)", "key", t, false);
  panel("sparse.csv", "SEA sparse attention (log colour)", "key", t, true);
  s += "unset multiplot\n";
  return s;
}

}  // namespace

int inspect_command(const inspect_command_options& o) {
  sweep_plan plan;
  try {
    plan = load_sweep_plan(o.config, o.overrides);
    assign_devices(plan.cases, "cpu");
  } catch (const config_error& e) {
    std::fprintf(stderr, "seabench: config error: %s\n", e.what());
    return exit_bad_usage;
  }
  const case_spec* found = nullptr;
  for (const auto& c : plan.cases)
    if (c.case_id() == o.case_id) found = &c;
  if (!found) {
    std::fprintf(stderr, "seabench: no case '%s' in %s (see `seabench validate --device cpu`)\n", o.case_id.c_str(),
                 o.config.c_str());
    return exit_bad_usage;
  }
  if (found->variant != "sea") {
    std::fprintf(stderr, "seabench: case %s is a '%s' case; inspect shows SEA's stages and needs a 'sea' case\n",
                 o.case_id.c_str(), found->variant.c_str());
    return exit_bad_usage;
  }
  if (o.head < 0 || o.head >= found->prob.heads || o.batch < 0 || o.batch >= found->prob.batch) {
    std::fprintf(stderr, "seabench: --head %d / --batch %d out of range (the case has %d heads, batch %d)\n", o.head,
                 o.batch, found->prob.heads, found->prob.batch);
    return exit_bad_usage;
  }
  try {
    const dataset_source* ds = dataset_registry::instance().find(found->dataset.at("kind").get<std::string>());
    const qkv_host in = ds->load(found->dataset, found->prob);
    const sea::head_matrices m =
        sea::inspect_head(found->prob, found->params, {in.q.data(), in.k.data(), in.v.data()}, o.batch, o.head);
    fs::create_directories(o.output_dir);
    write_matrix(o.output_dir / "exact.csv", m.exact, m.seq_len, m.seq_len);
    write_matrix(o.output_dir / "compressed.csv", m.compressed, m.seq_len, m.K);
    write_matrix(o.output_dir / "mask.csv", m.mask, m.seq_len, m.seq_len);
    write_matrix(o.output_dir / "sparse.csv", m.sparse, m.seq_len, m.seq_len);
    const double mass = mean_mass_on_mask(m);
    const std::string title =
        fmt::format("SEA {}  T={} k={} causal={} {}  head {}: exact mass on the mask {:.4f}", found->params.canonical(),
                    found->prob.seq_len, found->prob.k ? *found->prob.k : 0, found->prob.causal,
                    found->dataset_label, o.head, mass);
    std::ofstream(o.output_dir / "summary.txt") << title << "\ncase_id " << o.case_id << "\n";
    const fs::path script = o.output_dir / "inspect.gp";
    std::ofstream(script) << gnuplot_script(o.output_dir, title, m.seq_len, m.K);
    const int rc = std::system(fmt::format("gnuplot '{}'", script.string()).c_str());
    if (rc != 0) {
      std::fprintf(stderr,
                   "seabench: gnuplot failed or is missing (install Debian's gnuplot-nox); the matrices are in %s\n",
                   o.output_dir.c_str());
      return exit_harness_failure;
    }
    std::printf("%s\nwrote %s/{exact,compressed,mask,sparse}.csv and inspect.png\n", title.c_str(),
                o.output_dir.c_str());
    return exit_ok;
  } catch (const unsupported_case& e) {
    std::fprintf(stderr, "seabench: this SEA case is unsupported: %s\n", e.what());
    return exit_bad_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seabench: inspect failed: %s\n", e.what());
    return exit_harness_failure;
  }
}

}  // namespace sb::cli
