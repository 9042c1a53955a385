// A sweep's `dataset` axis: a name, a table with `kind` and options, or a list of those. Each entry
// is expanded by its registered dataset_source into canonical option objects.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/config/config_values.hpp"
#include "harness/core/dataset.hpp"

namespace sb::config {

/// One point of the dataset axis.
struct dataset_point {
  const dataset_source* source = nullptr;
  nlohmann::json options;  ///< canonical, including "kind"
  std::string label;       ///< the CSV `dataset` cell
  std::string path;        ///< the key path it came from, for messages
};

/// Read and expand the `dataset` value found at `path`.
[[nodiscard]] std::vector<dataset_point> read_dataset_entries(const config_source& src, const nlohmann::json& value,
                                                              const std::string& path);

/// config_error when `point` cannot serve `p` (the dataset's check()); config errors come before any run.
void check_dataset_serves(const config_source& src, const dataset_point& point, const problem& p);

}  // namespace sb::config
