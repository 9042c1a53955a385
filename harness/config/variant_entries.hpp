// A sweep's variant list: each entry names a registered variant and sets its parameters, where a
// list-valued parameter is swept (cartesian product over all list-valued parameters of the entry).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/config/config_values.hpp"
#include "harness/core/params.hpp"
#include "harness/core/variant.hpp"

namespace sb::config {

/// One variant with one resolved parameter set (defaults filled).
struct variant_point {
  const attention_variant* variant = nullptr;
  param_set params;
  std::string path;  ///< "variant[i]" or "sweep[j].variant[i]", for messages
};

/// Read the variant list found at `path` (an array of tables), in order; each entry's parameter
/// combinations follow in key order, the last key varying fastest.
[[nodiscard]] std::vector<variant_point> read_variant_entries(const config_source& src, const nlohmann::json& list,
                                                              const std::string& path);

}  // namespace sb::config
