// Filling a row's measured columns from the measurement results, shared by the CPU worker and the
// CUDA device path so both devices write the same columns the same way.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/metrics/accuracy.hpp"

namespace sb {

/// latency_ms_median/p10/p90/mean, latency_rel_stdev, samples, stop_reason and gflops_per_s
/// (executed FLOPs over the median) from the per-call times in milliseconds.
void add_latency_columns(nlohmann::json& row, std::span<const double> ms, const std::string& stop_reason,
                         double flops_executed);
/// Each variant extra: the median over the timed calls.
void add_extra_medians(nlohmann::json& row, const std::map<std::string, std::vector<double>>& extras);
/// The accuracy columns and the status they imply (error for non-finite outputs). Throws for a
/// causal support with future keys: that is a bug in the variant, reported as an error row.
void add_accuracy_columns(nlohmann::json& row, const accuracy_report& acc);

}  // namespace sb
