// GPU timing of one callable with CUDA events on a stream (measurement.md §2): warm-up (same rule
// as the CPU timer), then per sample an optional cold-L2 flush — a cudaMemsetAsync of a scratch
// buffer of 2× the L2 size on the same stream, *outside* the event pair — then record, call,
// record, cudaEventSynchronize, cudaEventElapsedTime; samples until the shared stop rule
// (harness/measure/stop_rule.hpp) holds.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include "harness/core/measure_settings.hpp"

namespace sb::cuda {

struct gpu_timing {
  std::vector<double> ms;   ///< event time of each timed call
  std::string stop_reason;  ///< converged | max_samples | max_time
  bool cold_l2 = true;      ///< whether the L2 was flushed before each sample
  std::size_t flush_bytes = 0;
};

/// `call` enqueues one attention call on `stream` (it may also synchronise). With `cold_l2`, a
/// scratch buffer of 2 · l2_bytes comes from the context's pool for the duration of the
/// measurement. `after_sample(i)` (optional) runs untimed after sample i. Throws cuda_error and,
/// for the scratch, sb::out_of_memory.
[[nodiscard]] gpu_timing measure_cuda(const std::function<void()>& call, cudaStream_t stream, const measure_settings& m,
                                      bool cold_l2, std::size_t l2_bytes,
                                      const std::function<void(std::size_t)>& after_sample = {});

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
