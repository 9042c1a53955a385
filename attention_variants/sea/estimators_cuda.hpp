// SEA stage 1 on CUDA: the training-free estimators of estimators.hpp, computing the same Â
// [B, H, Te, K] (fp32) from device Q and K in the case dtype (read widened to fp32):
//   oracle         one block per estimator row: scores against every visible key twice (max, then
//                  exp and per-bin mass in fp64 through shared atomics); quadratic, for tests and small T.
//   pooled         non-causal: per-bin mean keys [K, d] (fp64 sums), one block per row scores them and
//                  takes the softmax; causal: an fp64 prefix sum of the keys (blocked scan) and the K+1
//                  products q·S[bound] per row, as on the CPU.
//   performer_hist the FAVOR+ box-basis histogram. Exponents a = d^{-1/4}·W·x − ‖x̃‖²/2 per row and
//                  feature; non-causal: one key stabiliser per head (max over all a), per-bin feature sums
//                  U [K, m], row e reads φq·U; causal: the running key maximum r_j (a max-scan), fine-bin
//                  feature sums relative to each bin's last r, and the in-bin prefix of the query's own fine
//                  bin, so row i reads Σ_{j≤i} e^{r_j − r_i}·φq_i·φk_j per fine bin (the CPU's scan in
//                  exact arithmetic), then the same area resampling and renormalisation.
// The projection W is drawn on the host exactly as on the CPU and uploaded once.
// `performer` (Performer + CNN) is not on the GPU: make_estimator throws sb::unsupported_case.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstddef>
#include <memory>

#include <cuda_runtime_api.h>

#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"

namespace sb::sea::gpu {

class estimator {
 public:
  virtual ~estimator() = default;
  /// Fill Â (device, [B, H, Te, K] fp32) from device q, k ([B, H, T, D] in p.type). Enqueued on `stream`.
  virtual void estimate(const void* q, const void* k, float* ahat, cudaStream_t stream) = 0;
};

/// The configured backend on the device. Throws sb::unsupported_case for estimator = performer and for
/// shapes the kernels do not take (head_dim > 1024; performer_hist with head_dim + features (+ fine bins)
/// above 12192 floats of shared memory or, causal, more than 8192 fine bins; oracle and pooled-causal with K > 2048).
[[nodiscard]] std::unique_ptr<estimator> make_estimator(const problem& p, const config& c);

/// Device bytes estimate() allocates beyond Â (its scratch; host arithmetic only). The set-up buffers made
/// by make_estimator (the projection, the non-causal bins) are not included.
[[nodiscard]] std::size_t estimator_scratch_bytes(const problem& p, const config& c);

}  // namespace sb::sea::gpu

#endif  // SEABENCH_HAVE_CUDA
