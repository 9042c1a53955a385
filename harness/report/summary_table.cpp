#include "harness/report/summary_table.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "harness/core/variant.hpp"
#include "harness/report/csv_format.hpp"

namespace sb {
namespace {

struct text_table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  void print(std::FILE* out) const {
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
      width[c] = header[c].size();
      for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
      std::string s;
      for (std::size_t c = 0; c < cells.size(); ++c) s += fmt::format("{:<{}}  ", cells[c], width[c]);
      while (!s.empty() && s.back() == ' ') s.pop_back();
      std::fprintf(out, "%s\n", s.c_str());
    };
    line(header);
    for (const auto& r : rows) line(r);
  }
};

std::string cell(const nlohmann::json& row, const char* key, const char* format = "{}") {
  auto it = row.find(key);
  if (it == row.end() || it->is_null()) return "-";
  if (it->is_number_float()) return fmt::format(fmt::runtime(format), it->get<double>());
  return csv_cell(*it);
}

std::string mib(const nlohmann::json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || !it->is_number()) return "-";
  return fmt::format("{:.2f}", it->get<double>() / (1024.0 * 1024.0));
}

std::string shorten(std::string s, std::size_t n) { return s.size() > n ? s.substr(0, n - 1) + "~" : s; }

}  // namespace

void print_results_table(const std::vector<nlohmann::json>& rows, std::FILE* out) {
  text_table t{{"variant", "params", "T", "k", "causal", "dataset", "status", "median_ms", "p10-p90_ms", "peak_MiB",
                "analytic_MiB", "rel_err", "mass_recall", "keys/q"},
               {}};
  for (const auto& r : rows) {
    t.rows.push_back({cell(r, "variant"), shorten(cell(r, "params"), 36), cell(r, "seq_len"), cell(r, "k"),
                      cell(r, "causal"), shorten(cell(r, "dataset"), 28), cell(r, "status"),
                      cell(r, "latency_ms_median", "{:.3f}"),
                      r.contains("latency_ms_p10") ? fmt::format("{}-{}", cell(r, "latency_ms_p10", "{:.3f}"),
                                                                 cell(r, "latency_ms_p90", "{:.3f}"))
                                                   : "-",
                      mib(r, "peak_mem_bytes"), mib(r, "analytic_mem_bytes"), cell(r, "rel_err", "{:.2e}"),
                      cell(r, "mass_recall", "{:.4f}"), cell(r, "keys_per_query", "{:.1f}")});
  }
  t.print(out);
}

void print_plan_table(const std::vector<case_spec>& cases, std::FILE* out) {
  text_table t{{"case_id", "variant", "params", "dataset", "T", "k", "causal", "dtype", "B", "H", "D", "seed",
                "device", "note"},
               {}};
  for (const auto& c : cases) {
    std::string note;
    if (const auto* v = variant_registry::instance().find(c.variant))
      if (auto reason = unsupported_reason(*v, c.prob, c.params, c.device)) note = "unsupported: " + *reason;
    t.rows.push_back({c.case_id(), c.variant, c.params.canonical().empty() ? "-" : c.params.canonical(),
                      c.dataset_label, std::to_string(c.prob.seq_len), c.prob.k ? std::to_string(*c.prob.k) : "-",
                      c.prob.causal ? "true" : "false", std::string(to_string(c.prob.type)),
                      std::to_string(c.prob.batch), std::to_string(c.prob.heads), std::to_string(c.prob.head_dim),
                      std::to_string(c.prob.seed), std::string(to_string(c.device)), note});
  }
  t.print(out);
}

}  // namespace sb
