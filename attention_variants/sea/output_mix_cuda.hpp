// SEA stage 5 on CUDA: the output mix of output_mix.hpp (output = mix; trained gates only), in place on
// the sparse output in the case dtype: o ← σ(s1)·o + (1 − σ(s1))·avg with avg the running mean of V
// (causal: a blocked fp64 prefix sum whose last pass blends each row as it goes) or Σ_j w_j·v_j / Σ_j w_j
// (non-causal: w_j = the query-mean of Â at j's bin; fp64 partial sums per key chunk).
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cuda_runtime_api.h>

#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"

namespace sb::sea::gpu {

/// w [B, H, K] = mean over the Te estimator rows of Â (device fp32), as query_mean() on the CPU.
void query_mean(const problem& p, const config& c, const float* ahat, float* w, cudaStream_t stream);

/// Blend out (device [B, H, T, D] in p.type) in place. gates: device [B, H, Te, 2] logits (s1 used);
/// mean_ahat: query_mean()'s output (read when non-causal).
void output_mix(const problem& p, const config& c, const void* v, const float* gates, const float* mean_ahat,
                void* out, cudaStream_t stream);

}  // namespace sb::sea::gpu

#endif  // SEABENCH_HAVE_CUDA
