// Helpers shared by the dataset sources in datasets/: option validation and sweep expansion on top of
// param_schema, and the Philox normal draws every generator uses (so a GPU generator can match them).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/params.hpp"

namespace sb::datasets {

/// Validate a config entry for dataset `kind` against `schema` and expand it: keys other than "kind"
/// must be schema names; a key listed in `sweepable` may hold a non-empty array, and the result is the
/// cartesian product over those arrays (earlier schema entries vary slowest). Each point is coerced,
/// defaults are filled, and it is returned as {"kind": kind, every option}. Throws sb::config_error.
[[nodiscard]] std::vector<nlohmann::json> expand_options(const nlohmann::json& entry, std::string_view kind,
                                                         const param_schema& schema,
                                                         const std::vector<std::string>& sweepable);

/// The resolved options of a canonical object (as made by expand_options; "kind" is skipped and
/// missing names take their defaults). Throws sb::config_error on a bad value.
[[nodiscard]] param_set options_of(const nlohmann::json& options, std::string_view kind, const param_schema& schema);

/// ":name=value" for every option that differs from its default, in schema order, except `skip`.
[[nodiscard]] std::string non_default_suffix(const param_set& values, const param_schema& schema,
                                             const std::vector<std::string>& skip = {});

/// Throw sb::config_error unless `entry` is an object whose "kind" (if present) is `kind`.
void require_entry_object(const nlohmann::json& entry, std::string_view kind);

/// Element e of the standard-normal sequence of (seed, stream): Box–Muller on the Philox draws at
/// absolute indices 2e and 2e+1, u = (draw + 0.5) / 2^32, z = sqrt(-2 ln u1) · cos(2π u2).
[[nodiscard]] double philox_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t e);

/// out[i] = scale · philox_normal(seed, stream, first + i), using several threads for large spans.
/// Bit-identical to calling philox_normal element by element.
void fill_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t first, std::span<float> out,
                 double scale = 1.0);

}  // namespace sb::datasets
