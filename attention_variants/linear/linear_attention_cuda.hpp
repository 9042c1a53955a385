// Normalised linear attention on CUDA over given feature maps, shared by the CUDA instances of
// linear, cosformer and performer: o_i = Σ_j (φq_i·φk_j)·v_j / max(Σ_j φq_i·φk_j, den_floor) over the
// visible keys. Features are fp32 [heads, T, F] device arrays made by the variant's own kernels.
//   Non-causal (linear_attention_cuda.cpp): S = φKᵀ·V [F, Dv] and num = φQ·S with cuBLAS
//     (strided-batched over heads), z = Σ_j φk_j and the normalisation in linear_attention_kernels.cu.
//   Causal (causal_scan.cu): a chunked scan, a masked quadratic block inside each chunk of
//     scan_chunk positions and an fp32 running state [F, Dv] (shared memory) carried across chunks.
// Everything accumulates in fp32; V and O are in the case dtype.
#pragma once

#include <cstddef>
#include <cstdint>

#include "harness/core/types.hpp"

namespace sb::linear_cuda {

struct feature_attention {
  std::int64_t heads = 0;  ///< B·H
  int t = 0;
  int features = 0;  ///< F
  int dv = 0;
  dtype type = dtype::fp32;  ///< of V and O
  bool causal = false;
  float den_floor = 1e-6f;  ///< as the CPU: max(den, max(den_floor, FLT_MIN))
};

/// Device bytes attend() allocates from the pool for one call (the output excluded). Host-only: any build.
[[nodiscard]] std::size_t attend_scratch_bytes(const feature_attention& a);
/// Device bytes attend_sums() allocates from the pool for one call (num and den excluded).
[[nodiscard]] std::size_t attend_sums_scratch_bytes(const feature_attention& a);

}  // namespace sb::linear_cuda

#ifdef SEABENCH_HAVE_CUDA

#include <cuda_runtime_api.h>

#include "harness/cuda/device_buffer.hpp"

namespace sb::linear_cuda {

/// out = normalised linear attention of phi_q, phi_k ([heads, t, F] fp32) and v ([heads, t, dv] of
/// a.type) into out ([heads, t, dv] of a.type). key_log_scale (causal only, nullable): [heads, t]
/// non-decreasing along each head (a running maximum); key j's feature is then e^{s_j}·phi_k[j] and
/// every factor the scan applies is e^{s_j − s_i} ≤ 1 (favor::linear_scan's convention).
/// `cublas_workspace` is given to cuBLAS for its GEMMs; fp32 GEMMs use TF32 only when allow_tf32.
/// Enqueued on the context's stream. Throws unsupported_case when the causal scan's state does not
/// fit in shared memory (too many features).
void attend(const feature_attention& a, const float* phi_q, const float* phi_k, const float* key_log_scale,
            const void* v, void* out, cuda::device_buffer<std::uint8_t>& cublas_workspace, bool allow_tf32);

/// The unnormalised sums of attend(): num [heads, t, dv] = Σ_j (φq_i·φk_j)·v_j and den [heads, t] =
/// Σ_j φq_i·φk_j over the visible keys, fp32, before any floor or division (causal: relative to the
/// row's own key log-scale, as the scan keeps them). a.den_floor is not used.
void attend_sums(const feature_attention& a, const float* phi_q, const float* phi_k, const float* key_log_scale,
                 const void* v, float* num, float* den, cuda::device_buffer<std::uint8_t>& cublas_workspace,
                 bool allow_tf32);

/// The causal scan's sums (causal_scan.cu): what launch_causal_scan divides, written as fp32.
void launch_causal_scan_sums(const feature_attention& a, const float* phi_q, const float* phi_k,
                             const float* key_log_scale, const void* v, float* num, float* den, cudaStream_t stream);

/// dots[h·t + i] = phi[h, i, :]·z[h, :] (the non-causal denominators before the floor).
void launch_row_dots(const float* phi, const float* z, std::int64_t heads, int t, int features, float* dots,
                     cudaStream_t stream);

/// The causal scan alone (causal_scan.cu); attend() calls it for causal problems.
void launch_causal_scan(const feature_attention& a, const float* phi_q, const float* phi_k,
                        const float* key_log_scale, const void* v, void* out, cudaStream_t stream);

/// dst[i] = src[i] widened to fp32 for n elements of type `type` (a copy for fp32).
void launch_widen(const void* src, dtype type, std::size_t n, float* dst, cudaStream_t stream);

/// z[h, f] = Σ_j phi[h, j, f]: the key-feature sums of the non-causal denominator.
void launch_feature_sums(const float* phi, std::int64_t heads, int t, int features, float* z, cudaStream_t stream);

/// out[h, i, :] = num[h, i, :] / max(phi_q[h, i]·z[h], floor) in a.type (the non-causal readout).
void launch_normalise(const feature_attention& a, const float* num, const float* phi_q, const float* z, void* out,
                      cudaStream_t stream);

/// NVIDIA's recommended cuBLAS workspace on Hopper.
inline constexpr std::size_t cublas_workspace_bytes = std::size_t{32} << 20;

}  // namespace sb::linear_cuda

#endif  // SEABENCH_HAVE_CUDA
