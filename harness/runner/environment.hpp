// Facts about the machine and the build that every row records (git_sha, host, cpu_model, ...).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sb {

/// Columns that are the same for every row of one invocation.
[[nodiscard]] nlohmann::json environment_columns();
/// ISO-8601 UTC time now, e.g. 2026-11-29T23:59:01Z.
[[nodiscard]] std::string utc_timestamp();
[[nodiscard]] std::string cpu_model_name();

}  // namespace sb
