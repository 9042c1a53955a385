// performer on CUDA (performer_cuda.cpp, performer_kernels.cu): the instance performer's instantiate
// returns for device_kind::cuda. The projection W [m, d] is drawn on the host by
// favor::draw_projection (the CPU's counter_rng stream, so both devices use the same features) and
// uploaded once; per call: the projections s·X·Wᵀ as one cuBLAS GEMM over all rows, the stabilised
// softmax (or ReLU) features as kernels with the CPU's stabilisers (per-row for queries, per-head for
// non-causal keys, the running maximum with per-key log-scales for causal keys), then the shared
// linear-attention products (attention_variants/linear/linear_attention_cuda.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "attention_variants/performer/favor.hpp"
#include "harness/core/variant.hpp"

namespace sb::performer_cuda {

/// Device bytes one call allocates above the inputs (W excluded: made at set-up), output included.
/// Host-only: any build.
[[nodiscard]] std::size_t memory_bytes(const problem& p, int m, favor::kernel_kind kernel);

}  // namespace sb::performer_cuda

#ifdef SEABENCH_HAVE_CUDA

#include <memory>

#include <cuda_runtime_api.h>

#include "harness/cuda/device_buffer.hpp"

namespace sb::performer_cuda {

[[nodiscard]] std::unique_ptr<attention_instance> make_instance(const problem& p, int m, favor::kernel_kind kernel,
                                                                favor::row_norms norms);

/// a [rows, m] = d^{-1/4}·X·Wᵀ for X [rows, d] fp32 and the projection W [m, d] on the device: one cuBLAS
/// GEMM over all rows on the context's stream, with `workspace` as cuBLAS's workspace and TF32 tensor
/// cores only when `tf32` (performer's and scatterbrain's features share it).
void project(const float* w, int m, int d, const float* x, std::int64_t rows, float* a, bool tf32,
             cuda::device_buffer<std::uint8_t>& workspace);

// Kernels (performer_kernels.cu). Rows are [rows, m] exponents or features, x is [rows, d] fp32.

/// a[r, :] −= half_s2·‖x_r‖² (the −‖x̃‖²/2 term); row_max[r] = max_f a[r, f].
void launch_finish_exponents(const float* x, int d, float* a, std::int64_t rows, int m, float half_s2,
                             float* row_max, cudaStream_t stream);
/// head_max[h] = max over the t rows of head h of row_max.
void launch_head_max(const float* row_max, std::int64_t heads, int t, float* head_max, cudaStream_t stream);
/// running[h·t + j] = max over j' ≤ j of row_max[h·t + j'] (per head).
void launch_prefix_max(const float* row_max, std::int64_t heads, int t, float* running, cudaStream_t stream);
/// a[r, f] = ratio·(exp(a[r, f] − ref_r) + eps) with ref_r = row_ref[r] (row_ref non-null) or
/// head_ref[r / t] + shift.
void launch_softmax_features(float* a, std::int64_t rows, int m, const float* row_ref, const float* head_ref, int t,
                             float shift, float ratio, float eps, cudaStream_t stream);
/// a[i] = max(a[i], 0) + eps.
void launch_relu_features(float* a, std::size_t n, float eps, cudaStream_t stream);

}  // namespace sb::performer_cuda

#endif  // SEABENCH_HAVE_CUDA
