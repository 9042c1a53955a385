// `--set dotted.key=value` overrides, applied to the config's JSON tree before validation.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/config/config_values.hpp"

namespace sb::config {

/// Apply each "dotted.key=value" in order. The path walks tables by key; on an array of tables a
/// numeric component selects that element, a component equal to some elements' `name` selects
/// those, and any other component applies the rest of the path to every element. Missing tables
/// are created only for `measure.<key>` and `sweep.<key>`. A malformed override or one whose path
/// matches nothing throws sb::config_error naming it.
void apply_overrides(const config_source& src, nlohmann::json& root, const std::vector<std::string>& overrides);

}  // namespace sb::config
