// TOML text to a JSON tree (tables → objects, arrays → arrays, scalars → scalars), so the rest of the
// config code (overrides, validation, dataset options) works on one value type.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace sb::config {

/// Parse a TOML document. Syntax errors and values the config has no use for (dates, times) throw
/// sb::config_error "<source_name>:<line>:<column>: <what>".
[[nodiscard]] nlohmann::json read_toml(std::string_view text, std::string_view source_name);

/// The value of a `--set key=value` override: `value` parsed as a TOML value (`512`, `[512, 1024]`,
/// `true`, `"x"`, `{ kind = "npy", path = "a.npy" }`), or, when it is not one, the text itself as a
/// string (so `fp16` needs no quotes).
[[nodiscard]] nlohmann::json read_override_value(std::string_view text);

}  // namespace sb::config
