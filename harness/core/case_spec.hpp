// One case of a sweep: everything the worker needs to run and measure it, and its stable id.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "harness/core/measure_settings.hpp"
#include "harness/core/params.hpp"
#include "harness/core/types.hpp"

namespace sb {

struct case_spec {
  std::string variant;
  param_set params;          ///< resolved: every schema entry present
  problem prob;              ///< shape, causal, dtype, k (empty when the variant ignores k), seed
  device_kind device = device_kind::cpu;
  nlohmann::json dataset;    ///< canonical dataset options, including "kind"
  std::string dataset_label; ///< the CSV `dataset` cell
  measure_settings measure;  ///< how to measure; not part of the identity
  int sweep_index = 0;       ///< which [[sweep]] table it came from

  /// The canonical description the id is hashed from (sorted-key JSON of the identity fields).
  [[nodiscard]] nlohmann::json identity() const;
  /// 16 hex digits of a 64-bit FNV-1a hash of identity().dump(): stable across runs and machines.
  [[nodiscard]] std::string case_id() const;
  [[nodiscard]] nlohmann::json to_json() const;
  static case_spec from_json(const nlohmann::json& j);
};

}  // namespace sb
