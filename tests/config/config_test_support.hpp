// Helpers shared by the config tests: parse a config text with a fixed source name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "harness/config/sweep_plan.hpp"

namespace sb::test {

/// Parse `text` as if it were "quick.toml" in /data/configs.
inline sweep_plan parse_config(std::string_view text, const std::vector<std::string>& overrides = {}) {
  return parse_sweep_plan(text, "/data/configs", overrides, "quick.toml");
}

/// How many cases of `plan` are of `variant`.
inline std::size_t count_variant(const sweep_plan& plan, std::string_view variant) {
  std::size_t n = 0;
  for (const auto& c : plan.cases) n += c.variant == variant ? 1 : 0;
  return n;
}

}  // namespace sb::test
