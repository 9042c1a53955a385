// Runs one case inside the current process and returns its measured columns. The sweep runner calls
// this in a fresh worker process per case (see worker_process.hpp), so a crash costs one row and
// memory high-water marks start clean.
#pragma once

#include <nlohmann/json.hpp>

#include "harness/core/case_spec.hpp"

namespace sb {

/// Status, timing, memory, FLOP, accuracy and variant-extra columns of one case, keyed by column
/// name. Never throws for problems of the case itself: they become status oom / unsupported / error.
[[nodiscard]] nlohmann::json run_case(const case_spec& c);

/// Entry point of the hidden `seabench __worker` subcommand: a case as JSON on stdin, the result
/// JSON on stdout. Returns the process exit code.
int worker_main();

}  // namespace sb
