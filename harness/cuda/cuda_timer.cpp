#include "harness/cuda/cuda_timer.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>

#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/measure/stop_rule.hpp"

namespace sb::cuda {
namespace {

/// A pair of events destroyed with the object.
class event_pair {
 public:
  event_pair() {
    SB_CUDA_CHECK(cudaEventCreate(&start));
    SB_CUDA_CHECK(cudaEventCreate(&stop));
  }
  ~event_pair() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  event_pair(const event_pair&) = delete;
  event_pair& operator=(const event_pair&) = delete;
  cudaEvent_t start = nullptr, stop = nullptr;
};

}  // namespace

gpu_timing measure_cuda(const std::function<void()>& call, cudaStream_t stream, const measure_settings& m, bool cold_l2,
                        std::size_t l2_bytes, const std::function<void(std::size_t)>& after_sample) {
  using clock = std::chrono::steady_clock;
  gpu_timing out;
  out.cold_l2 = cold_l2;
  device_buffer<std::uint8_t> scratch;
  if (cold_l2) {
    scratch = device_buffer<std::uint8_t>(2 * l2_bytes, stream);
    out.flush_bytes = scratch.bytes();
  }
  int flush_value = 0;
  auto flush = [&] {
    if (!cold_l2 || scratch.size() == 0) return;
    flush_value ^= 1;  // a different value each time, so nothing can skip the writes
    SB_CUDA_CHECK(cudaMemsetAsync(scratch.data(), flush_value, scratch.bytes(), stream));
  };

  const auto warm_start = clock::now();
  for (int i = 0; !warmup_done(i, std::chrono::duration<double>(clock::now() - warm_start).count(), m); ++i) {
    flush();
    call();
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  }

  event_pair ev;
  double sampled_s = 0;
  while (true) {
    flush();
    SB_CUDA_CHECK(cudaEventRecord(ev.start, stream));
    call();
    SB_CUDA_CHECK(cudaEventRecord(ev.stop, stream));
    SB_CUDA_CHECK(cudaEventSynchronize(ev.stop));
    float ms = 0;
    SB_CUDA_CHECK(cudaEventElapsedTime(&ms, ev.start, ev.stop));
    out.ms.push_back(ms);
    sampled_s += ms * 1e-3;
    if (after_sample) after_sample(out.ms.size() - 1);
    if (auto reason = sampling_stop_reason(out.ms, sampled_s, m)) {
      out.stop_reason = std::move(*reason);
      break;
    }
  }
  return out;
}

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
