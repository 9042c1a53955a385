#include "harness/report/tables/column_units.hpp"

#include <cmath>
#include <map>

#include <fmt/format.h>

namespace sb::report {

column_display byte_unit(double max_abs) {
  constexpr double kib = 1024.0;
  if (max_abs >= kib * kib * kib) return {"", "GiB", 1.0 / (kib * kib * kib)};
  if (max_abs >= kib * kib) return {"", "MiB", 1.0 / (kib * kib)};
  if (max_abs >= kib) return {"", "KiB", 1.0 / kib};
  return {"", "B", 1.0};
}

bool is_error_column(std::string_view column) {
  return column == "rel_err" || column == "max_abs_err" || column.ends_with("_err") ||
         column.ends_with("_balance_err");
}

column_display describe_column(std::string_view column, double max_abs) {
  static const std::map<std::string, std::string, std::less<>> names = {
      {"latency_ms_median", "median latency"},
      {"latency_ms_p10", "latency p10"},
      {"latency_ms_p90", "latency p90"},
      {"latency_ms_mean", "mean latency"},
      {"cpu_time_ms_median", "median CPU time per call"},
      {"peak_mem_bytes", "peak memory"},
      {"analytic_mem_bytes", "analytic memory"},
      {"process_peak_rss_bytes", "peak RSS growth"},
      {"oom_requested_bytes", "requested allocation"},
      {"flops_dense_equiv", "dense-equivalent work"},
      {"flops_executed", "executed work"},
      {"gflops_per_s", "throughput"},
      {"rel_err", "relative error"},
      {"max_abs_err", "max abs error"},
      {"cos_sim", "mean cosine similarity"},
      {"cos_sim_p10", "cosine similarity p10"},
      {"mass_recall", "attention mass recall"},
      {"mass_recall_p10", "attention mass recall p10"},
      {"topk_recall", "top-k recall"},
      {"keys_per_query", "keys attended per query"},
      {"keys_per_query_max", "max keys attended per query"},
      {"seq_len", "sequence length T"},
      {"k", "budget k"},
      {"batch", "batch B"},
      {"heads", "heads H"},
      {"head_dim", "head dim D"},
      {"case_wall_s", "case wall time"},
      {"latency_rel_stdev", "latency relative stdev"},
      {"samples", "timed samples"},
      {"threads", "threads"},
  };
  column_display d;
  const auto it = names.find(column);
  d.name = it != names.end() ? it->second : std::string(column);
  const auto has_token = [&](std::string_view token) {
    // `token` as a whole '_'-separated part of the name
    std::size_t pos = 0;
    while ((pos = column.find(token, pos)) != std::string_view::npos) {
      const bool start = pos == 0 || column[pos - 1] == '_';
      const bool end = pos + token.size() == column.size() || column[pos + token.size()] == '_';
      if (start && end) return true;
      ++pos;
    }
    return false;
  };
  if (column == "gflops_per_s") {
    d.unit = "GFLOP/s";
  } else if (column.starts_with("flops_")) {
    d.unit = "GFLOP";
    d.scale = 1e-9;
  } else if (has_token("bytes")) {
    const auto u = byte_unit(max_abs);
    d.unit = u.unit;
    d.scale = u.scale;
  } else if (has_token("ms")) {
    d.unit = "ms";
  } else if (column.ends_with("_s")) {
    d.unit = "s";
  } else if (column == "seq_len") {
    d.unit = "tokens";
  } else if (column == "keys_per_query" || column == "keys_per_query_max") {
    d.unit = "keys";
  } else if (column == "rel_err") {
    d.unit = "‖O−O_ref‖/‖O_ref‖";
  } else if (column == "mass_recall" || column == "mass_recall_p10" || column == "topk_recall") {
    d.unit = "fraction";
  }
  return d;
}

std::string format_number(double v, int digits) {
  if (v == 0.0) return "0";
  const double a = std::fabs(v);
  if (a >= 1e-3 && a < 1e7) {
    const int magnitude = static_cast<int>(std::floor(std::log10(a)));
    const int decimals = std::max(0, digits - 1 - magnitude);
    std::string s = fmt::format("{:.{}f}", v, decimals);
    return s;
  }
  return fmt::format("{:.{}e}", v, std::max(0, digits - 1));
}

}  // namespace sb::report
