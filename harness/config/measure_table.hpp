// The optional [measure] table: the fields of sb::measure_settings with type and range checks.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "harness/config/config_values.hpp"
#include "harness/core/measure_settings.hpp"

namespace sb::config {

/// Start from the defaults of measure_settings and apply the keys of `table` (at `path`).
[[nodiscard]] measure_settings read_measure(const config_source& src, const nlohmann::json& table,
                                            std::string_view path);

}  // namespace sb::config
