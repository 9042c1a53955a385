// One case on the GPU: the device counterpart of the CPU worker's measurement (case_worker.cpp),
// called by the worker when case_spec::device is cuda. Uploads the inputs in the case dtype,
// measures memory (pool high-water above the inputs, cudaMemGetInfo delta), times with CUDA events
// on the context's stream (cold L2 by default), runs the untimed accuracy call, reads the output
// back widened to fp32 and scores it against the fp64 CPU reference computed from the inputs as the
// device saw them (rounded to the case dtype).
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <nlohmann/json.hpp>

#include "harness/core/case_spec.hpp"
#include "harness/core/dataset.hpp"
#include "harness/core/variant.hpp"

namespace sb::cuda {

struct case_options {
  int threads = 0;          ///< CPU threads for the fp64 reference and the metrics (0 = all cores)
  bool allow_tf32 = false;  ///< fp32 GEMMs may use TF32 tensor cores (the config's allow_tf32)
  bool cold_l2 = true;      ///< flush the L2 before each timed sample (the `l2` column: cold / hot)
};

/// Adds to `row` the columns the CPU path writes (peak_mem_bytes, analytic_mem_bytes (the CUDA model),
/// latency_ms_*, samples, stop_reason, gflops_per_s, variant extras, rel_err, cos_sim, ..., reference,
/// nonfinite_outputs, status "ok" or "error" for non-finite outputs) plus the GPU columns
/// (device_name, compute_capability, sm_count, l2_cache_bytes, cuda_runtime, driver,
/// driver_cuda_version, cublas_version, sm_clock_mhz_start, sm_clock_mhz_end, throttled, l2, tf32,
/// peak_mem_reserved_bytes, device_mem_delta_bytes). The environment columns are written first, so
/// they survive a failure.
/// Throws like the CPU path, for the worker's handlers to turn into rows: sb::out_of_memory (oom:
/// "predicted N bytes ..." when the analytic bytes plus the inputs exceed what the device has free,
/// or the pool's failed allocation), sb::unsupported_case, sb::data_error, cuda_error (error; a sticky
/// one leaves the process unusable) and std::runtime_error when a causal variant reports future keys.
void run_case_on_cuda(const case_spec& c, const qkv_host& inputs, const attention_variant& v, nlohmann::json& row,
                      const case_options& options = {});

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
