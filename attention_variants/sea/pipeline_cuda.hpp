// SEA on CUDA: the instance sea's instantiate(p, params, device_kind::cuda) returns. run() enqueues, on
// the context's stream, the same five stages as the CPU pipeline (pipeline.hpp), each in its own file:
// estimate (estimators_cuda) → grouped top-k (topk_cuda) → FlatCSR (flat_csr_cuda) → sparse attention
// (sparse_attention_cuda: fused or cuSPARSE, the `sparse_impl` parameter) → output mix (output_mix_cuda;
// only with gates, which the GPU estimators do not produce). Inputs and output are device arrays in the
// case dtype; everything accumulates in fp32 (fp64 where the CPU uses fp64).
//
// Timed calls enqueue work and return. On the harness's untimed accuracy call (ctx.support set), run()
// also records CUDA events between the stages and synchronises, so the row gets the per-stage times
// (sea_*_ms of docs/sea.md, here GPU time of that one call), the mask statistics and the support (the
// FlatCSR copied back). sea_oracle_cell_mass is not computed on the GPU path.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstddef>
#include <memory>

#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/variant.hpp"

namespace sb::sea::gpu {

/// Throws sb::unsupported_case for what the GPU path does not take (estimator=performer, topk_mode=batch,
/// head_dim > 256, and the estimators' shape limits), sb::out_of_memory / cuda_error from the device.
[[nodiscard]] std::unique_ptr<attention_instance> make_instance(const problem& p, const config& c);

/// Peak device bytes of one run() above the inputs, the output in the case dtype included (the CUDA
/// memory model; set-up buffers made at instantiate are excluded, as on the device path).
[[nodiscard]] std::size_t memory_bytes(const problem& p, const config& c);

}  // namespace sb::sea::gpu

#endif  // SEABENCH_HAVE_CUDA
