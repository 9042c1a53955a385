// Typed reading of config values with messages that name the file, the key and what is allowed.
#include "harness/config/config_values.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "harness/core/errors.hpp"

namespace sb::config {

void config_source::fail(std::string_view key_path, std::string_view message) const {
  if (key_path.empty()) throw config_error(fmt::format("{}: {}", name, message));
  throw config_error(fmt::format("{}: {}: {}", name, key_path, message));
}

std::string join_key(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}

std::string index_key(std::string_view parent, std::size_t index) { return fmt::format("{}[{}]", parent, index); }

std::string_view type_name(const nlohmann::json& value) {
  if (value.is_boolean()) return "boolean";
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "float";
  if (value.is_string()) return "string";
  if (value.is_array()) return "array";
  if (value.is_object()) return "table";
  return "nothing";
}

std::string show(const nlohmann::json& value) {
  if (value.is_object()) return "a table";
  return value.dump();
}

void require_table(const config_source& src, const nlohmann::json& value, std::string_view path) {
  if (!value.is_object()) src.fail(path, fmt::format("expected a table, got {} {}", type_name(value), show(value)));
}

void check_keys(const config_source& src, const nlohmann::json& table, std::string_view path,
                const std::vector<std::string>& allowed) {
  for (const auto& [key, value] : table.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::vector<std::string> sorted = allowed;
    std::sort(sorted.begin(), sorted.end());
    src.fail("", fmt::format("unknown key '{}' (allowed: {})", join_key(path, key), fmt::join(sorted, ", ")));
  }
}

std::vector<nlohmann::json> as_list(const config_source& src, const nlohmann::json& value, std::string_view path) {
  if (!value.is_array()) return {value};
  if (value.empty()) src.fail(path, "empty list (give one value, or a list of at least one value to sweep over)");
  return {value.begin(), value.end()};
}

std::int64_t read_integer(const config_source& src, const nlohmann::json& value, std::string_view path,
                          std::int64_t lo, std::int64_t hi) {
  if (!value.is_number_integer())
    src.fail(path, fmt::format("expected an integer, got {} {}", type_name(value), show(value)));
  // TOML integers are signed 64-bit; only a JSON unsigned value can exceed that, and it is out of range.
  const bool huge = value.is_number_unsigned() &&
                    value.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::int64_t x = huge ? hi : value.get<std::int64_t>();
  if (huge || x < lo || x > hi) {
    const std::string allowed = hi == std::numeric_limits<std::int64_t>::max() ? fmt::format(">= {}", lo)
                                                                             : fmt::format("{} .. {}", lo, hi);
    src.fail(path, fmt::format("value {} out of range (allowed: {})", value.dump(), allowed));
  }
  return x;
}

double read_number(const config_source& src, const nlohmann::json& value, std::string_view path, double lo,
                   bool lo_exclusive, double hi) {
  if (!value.is_number()) src.fail(path, fmt::format("expected a number, got {} {}", type_name(value), show(value)));
  const double x = value.get<double>();
  const bool low = lo_exclusive ? !(x > lo) : !(x >= lo);
  if (low || !(x <= hi) || !std::isfinite(x)) {
    const std::string allowed = std::isinf(hi) ? fmt::format("{} {}", lo_exclusive ? ">" : ">=", lo)
                                               : fmt::format("{}{} .. {}", lo_exclusive ? "> " : "", lo, hi);
    src.fail(path, fmt::format("value {} out of range (allowed: {})", value.dump(), allowed));
  }
  return x;
}

bool read_bool(const config_source& src, const nlohmann::json& value, std::string_view path) {
  if (!value.is_boolean())
    src.fail(path, fmt::format("expected true or false, got {} {}", type_name(value), show(value)));
  return value.get<bool>();
}

std::string read_string(const config_source& src, const nlohmann::json& value, std::string_view path) {
  if (!value.is_string()) src.fail(path, fmt::format("expected a string, got {} {}", type_name(value), show(value)));
  return value.get<std::string>();
}

}  // namespace sb::config
