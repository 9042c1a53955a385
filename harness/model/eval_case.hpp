// One `seabench model-eval` case: a (variant, parameters, k, seed) evaluated over the windows of the
// text; and the fork-based isolation that turns a crash or a hang of that evaluation into a row.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/case_spec.hpp"
#include "harness/model/eval_config.hpp"
#include "harness/model/opt_weights.hpp"

namespace sb::model {

/// The columns model-eval adds to the usual ones (documented in results/SCHEMA.md).
[[nodiscard]] const std::vector<std::string>& model_eval_columns();

/// Measured columns of one case: status, error, nll, ppl, tokens_evaluated, windows, model,
/// model_layers, latency_* (per-window forward), peak_mem_bytes, threads, device, device_name.
/// Exceptions become rows (unsupported, oom, error) as in the attention sweep. `device` is
/// auto | cpu | cuda as in `seabench run` (resolve_device), resolved here, in the case's process:
/// a forking parent must not initialise CUDA, which its children could then not use.
[[nodiscard]] nlohmann::json evaluate_case(const opt_model& m, std::span<const std::int32_t> ids,
                                           const model_section& section, const case_spec& c,
                                           const std::string& device = "cpu");

struct forked_outcome {
  nlohmann::json row;   ///< the child's row, or status error/timeout with the reason
  double wall_s = 0;
};

/// Run `work` in a forked child (which inherits the loaded model copy-on-write) and return its JSON;
/// a signal, a non-zero exit or `timeout_s` passing gives a row with status error / timeout.
/// `heartbeat(elapsed_s)` is called about once a second while it runs.
[[nodiscard]] forked_outcome run_forked(const std::function<nlohmann::json()>& work, double timeout_s,
                                        const std::function<void(double)>& heartbeat = {});

}  // namespace sb::model
