// The shared axes of one sweep table: seq_len, k, batch, heads, head_dim, dtype, causal, dataset,
// seeds, each a scalar or a list to sweep over, with their defaults and ranges.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/config/config_values.hpp"
#include "harness/config/dataset_entries.hpp"
#include "harness/core/types.hpp"

namespace sb::config {

inline constexpr std::int64_t max_seq_len = std::int64_t{1} << 24;
inline constexpr std::int64_t max_head_dim = 1024;
inline constexpr std::int64_t max_batch_or_heads = 65536;

struct sweep_axes {
  std::string path;   ///< "sweep" or "sweep[i]"
  std::string name;   ///< the optional `name` label
  std::vector<int> seq_len;
  std::vector<int> k;  ///< empty when the sweep has no `k`
  std::vector<int> batch{1};
  std::vector<int> heads{4};
  std::vector<int> head_dim{64};
  std::vector<dtype> dtypes{dtype::fp32};
  std::vector<bool> causal{false};
  std::vector<std::uint64_t> seeds{0};
  std::vector<dataset_point> datasets;  ///< default: gaussian
};

/// The keys an axes table may hold (the variant list, where it lives in the table, is separate).
[[nodiscard]] std::vector<std::string> axis_keys();

/// Read the axes of `table` (at `path`). Keys other than axis_keys() and `extra_keys` are errors.
[[nodiscard]] sweep_axes read_sweep_axes(const config_source& src, const nlohmann::json& table, const std::string& path,
                                         const std::vector<std::string>& extra_keys);

}  // namespace sb::config
