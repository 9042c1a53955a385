// The plain-text table `seabench run` prints when a sweep ends, and `seabench validate` prints
// before one starts: fixed-width columns, one line per case.
#pragma once

#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/case_spec.hpp"

namespace sb {

/// One line per written row: variant, params, T, k, causal, dataset, status, latency, memory, accuracy.
void print_results_table(const std::vector<nlohmann::json>& rows, std::FILE* out);
/// One line per planned case, with the reason for cases that will be `unsupported`.
void print_plan_table(const std::vector<case_spec>& cases, std::FILE* out);

}  // namespace sb
