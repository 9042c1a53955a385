// Fault containment: one case in a child process (`seabench __worker`), with a wall-clock limit.
// A crash, abort or (later) a poisoned CUDA context kills only the child; the parent writes the row.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/core/case_spec.hpp"

namespace sb {

struct worker_outcome {
  std::optional<nlohmann::json> result;  ///< the worker's columns, when it finished normally
  std::string failure;                   ///< why there is no result (signal, exit code, stderr tail)
  bool timed_out = false;
  double wall_s = 0;
};

/// Run `c` in a child executing `worker_exe __worker`; kill it after `timeout_s` seconds.
/// `heartbeat(elapsed_s)`, if given, is called about once a second while the case runs.
[[nodiscard]] worker_outcome run_in_worker(const std::filesystem::path& worker_exe, const case_spec& c,
                                           double timeout_s,
                                           const std::function<void(double)>& heartbeat = {});

}  // namespace sb
