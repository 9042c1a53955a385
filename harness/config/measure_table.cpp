// [measure]: the allowed keys are exactly the fields measure_settings serialises, so a field added
// there is configurable here at once; the range of each is listed below.
#include "harness/config/measure_table.hpp"

#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

namespace sb::config {
namespace {

struct field_range {
  double lo = 0;
  bool lo_exclusive = false;
  double hi = std::numeric_limits<double>::infinity();
};

/// Counts of calls and samples are at least 1 (warm-up may be skipped), times are positive or, for
/// the minimums, zero; 0 threads means all cores and 0 bytes means no memory limit.
const std::map<std::string, field_range>& ranges() {
  static const std::map<std::string, field_range> table{
      {"warmup_calls", {0, false, 1e6}},      {"warmup_min_s", {0, false}},
      {"min_samples", {1, false, 1e9}},       {"min_time_s", {0, false}},
      {"target_rel_stdev", {0, true, 1}},     {"max_samples", {1, false, 1e9}},
      {"max_time_s", {0, true}},              {"case_timeout_s", {0, true}},
      {"ref_full_max_seq_len", {0, false, 16777216}}, {"ref_rows_per_head", {1, false, 16777216}},
      {"threads", {0, false, 4096}},          {"cpu_memory_limit_bytes", {0, false}},
  };
  return table;
}

/// Check one value against the type of its default (integer, unsigned or real) and its range.
nlohmann::json check_field(const config_source& src, const std::string& key, const nlohmann::json& given,
                           const nlohmann::json& default_value, const std::string& path) {
  if (default_value.is_boolean()) return read_bool(src, given, path);
  const auto it = ranges().find(key);
  const field_range r = it == ranges().end() ? field_range{} : it->second;
  if (default_value.is_number_float()) return read_number(src, given, path, r.lo, r.lo_exclusive, r.hi);
  const std::int64_t hi = default_value.is_number_unsigned() ? std::numeric_limits<std::int64_t>::max()
                          : std::isinf(r.hi)                 ? std::numeric_limits<int>::max()
                                                             : static_cast<std::int64_t>(r.hi);
  const auto lo = static_cast<std::int64_t>(r.lo_exclusive ? r.lo + 1 : r.lo);
  const std::int64_t x = read_integer(src, given, path, lo, hi);
  if (default_value.is_number_unsigned()) return static_cast<std::uint64_t>(x);
  return x;
}

void check_order(const config_source& src, const measure_settings& m, std::string_view path) {
  if (m.min_samples > m.max_samples)
    src.fail(path, fmt::format("min_samples ({}) is above max_samples ({})", m.min_samples, m.max_samples));
  if (m.min_time_s > m.max_time_s)
    src.fail(path, fmt::format("min_time_s ({}) is above max_time_s ({})", m.min_time_s, m.max_time_s));
}

}  // namespace

measure_settings read_measure(const config_source& src, const nlohmann::json& table, std::string_view path) {
  require_table(src, table, path);
  nlohmann::json merged = measure_settings{};
  std::vector<std::string> allowed;
  for (const auto& [key, value] : merged.items()) allowed.push_back(key);
  check_keys(src, table, path, allowed);
  for (const auto& [key, value] : table.items())
    merged[key] = check_field(src, key, value, merged[key], join_key(path, key));
  const measure_settings m = merged.get<measure_settings>();
  check_order(src, m, path);
  return m;
}

}  // namespace sb::config
