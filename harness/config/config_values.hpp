// Typed reading of the JSON tree a TOML config becomes. Every check names the config source, the
// dotted key path and what is allowed, and throws sb::config_error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sb::config {

/// Where the values being read came from.
struct config_source {
  std::string name;            ///< prefixes every message, e.g. "configs/quick.toml"
  std::filesystem::path dir;   ///< the directory relative paths in the config are resolved against

  /// Throw config_error "<name>: <key_path>: <message>" ("<name>: <message>" for an empty path).
  [[noreturn]] void fail(std::string_view key_path, std::string_view message) const;
};

/// "parent.key", or "key" at the top level.
[[nodiscard]] std::string join_key(std::string_view parent, std::string_view key);
/// "parent[index]".
[[nodiscard]] std::string index_key(std::string_view parent, std::size_t index);
/// "integer", "float", "boolean", "string", "array" or "table", for messages.
[[nodiscard]] std::string_view type_name(const nlohmann::json& value);
/// The value as it would be written in a message: strings quoted, the rest dumped.
[[nodiscard]] std::string show(const nlohmann::json& value);

/// Require `value` to be a table.
void require_table(const config_source& src, const nlohmann::json& value, std::string_view path);
/// Reject keys of `table` (at `path`) that are not in `allowed`, listing the allowed ones.
void check_keys(const config_source& src, const nlohmann::json& table, std::string_view path,
                const std::vector<std::string>& allowed);

/// A scalar becomes a one-element list; an array must be non-empty ("sweep over these").
[[nodiscard]] std::vector<nlohmann::json> as_list(const config_source& src, const nlohmann::json& value,
                                                  std::string_view path);

[[nodiscard]] std::int64_t read_integer(const config_source& src, const nlohmann::json& value, std::string_view path,
                                        std::int64_t lo, std::int64_t hi = std::numeric_limits<std::int64_t>::max());
/// A finite number (integers accepted) with lo < x (lo_exclusive) or lo <= x, and x <= hi.
[[nodiscard]] double read_number(const config_source& src, const nlohmann::json& value, std::string_view path,
                                 double lo, bool lo_exclusive,
                                 double hi = std::numeric_limits<double>::infinity());
[[nodiscard]] bool read_bool(const config_source& src, const nlohmann::json& value, std::string_view path);
[[nodiscard]] std::string read_string(const config_source& src, const nlohmann::json& value, std::string_view path);

}  // namespace sb::config
