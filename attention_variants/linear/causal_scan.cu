// The chunked causal linear-attention scan on CUDA (see linear_attention_cuda.hpp and
// causal_scan_plan.hpp). Grid: one block per (head, tile of value columns); each block walks its
// head's chunks of scan_chunk positions in order, keeping the fp32 running state S [F, tile] and
// z [F] in shared memory. Per chunk of n rows starting at p:
//   A_ij = φq_i·φk_j·e^{s_j − s_i} for j ≤ i (0 above the diagonal)       (masked quadratic block)
//   den_i = e^{ref − s_i}·φq_i·z + Σ_j A_ij,  num_i = e^{ref − s_i}·φq_i·S + Σ_j A_ij·v_j
//   o_i = num_i / max(den_i, floor)
//   S ← e^{ref − s_last}·S + Σ_j e^{s_j − s_last}·φk_j·v_jᵀ, z likewise; ref ← s_last
// launch_causal_scan_sums runs the same kernel but writes num_i and den_i (fp32) instead of o_i, for
// callers that correct the sums before normalising (scatterbrain's corrected combination).
// Without log-scales every factor is 1. The blocks of one head recompute A and den (cheap next to
// the state products) so that no block waits for another.
#include "attention_variants/linear/causal_scan_plan.hpp"
#include "attention_variants/linear/linear_attention_cuda.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cfloat>

#include <string>

#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_convert.cuh"

namespace sb::linear_cuda {
namespace {

constexpr int C = scan_chunk;

/// Sums = false: out_i = num_i / max(den_i, floor) in T. Sums = true: the unnormalised num_i (fp32,
/// into num_out [t, dv]) and den_i (den_out [t], written by the blocks of the first value tile); out unused.
template <typename T, bool Sums = false>
__global__ void __launch_bounds__(scan_threads)
    causal_scan_kernel(const float* __restrict__ phi_q, const float* __restrict__ phi_k,
                       const float* __restrict__ log_scale, const T* __restrict__ v, T* __restrict__ out, int t,
                       int f, int dv, int tile, float floor, float* __restrict__ num_out = nullptr,
                       float* __restrict__ den_out = nullptr) {
  extern __shared__ float sm[];
  float* S = sm;                 // [f, tile]
  float* z = S + f * tile;       // [f]
  float* A = z + f;              // [C, C]
  float* vs = A + C * C;         // [C, tile]
  float* den = vs + C * tile;    // [C]
  float* qf = den + C;           // [C] e^{ref − s_i}: the state's contribution to row i
  float* kf = qf + C;            // [C] e^{s_j − s_last}: key j's weight in the state update

  const std::int64_t head = blockIdx.x;
  const int c0 = blockIdx.y * tile;
  const int ncol = min(tile, dv - c0);
  const std::int64_t rows0 = head * t;
  phi_q += rows0 * f;
  phi_k += rows0 * f;
  if (log_scale) log_scale += rows0;
  v += rows0 * dv;
  if constexpr (Sums) {
    num_out += rows0 * dv;
    den_out += rows0;
  } else {
    out += rows0 * dv;
  }
  const int tid = threadIdx.x;

  for (int e = tid; e < f * tile; e += blockDim.x) S[e] = 0.0f;
  for (int e = tid; e < f; e += blockDim.x) z[e] = 0.0f;
  float ref = 0.0f;  // log-scale of the state (every thread holds the same value)

  for (int p = 0; p < t; p += C) {
    const int n = min(C, t - p);
    const float last = log_scale ? log_scale[p + n - 1] : 0.0f;
    for (int i = tid; i < n; i += blockDim.x) {
      const float s = log_scale ? log_scale[p + i] : 0.0f;
      qf[i] = log_scale ? expf(ref - s) : 1.0f;
      kf[i] = log_scale ? expf(s - last) : 1.0f;
    }
    for (int e = tid; e < n * tile; e += blockDim.x) {
      const int i = e / tile, c = e % tile;
      vs[e] = c < ncol ? cuda::to_f32(v[static_cast<std::int64_t>(p + i) * dv + c0 + c]) : 0.0f;
    }
    for (int e = tid; e < n * n; e += blockDim.x) {
      const int i = e / n, j = e % n;
      float a = 0.0f;
      if (j <= i) {
        const float* qi = phi_q + static_cast<std::int64_t>(p + i) * f;
        const float* kj = phi_k + static_cast<std::int64_t>(p + j) * f;
        for (int x = 0; x < f; ++x) a = fmaf(qi[x], kj[x], a);
        if (log_scale) a *= expf(log_scale[p + j] - log_scale[p + i]);
      }
      A[i * C + j] = a;
    }
    __syncthreads();
    for (int i = tid; i < n; i += blockDim.x) {
      float d = 0.0f;
      if (p > 0) {
        const float* qi = phi_q + static_cast<std::int64_t>(p + i) * f;
        for (int x = 0; x < f; ++x) d = fmaf(qi[x], z[x], d);
        d *= qf[i];
      }
      for (int j = 0; j <= i; ++j) d += A[i * C + j];
      den[i] = d;
      if constexpr (Sums) {
        if (blockIdx.y == 0) den_out[p + i] = d;
      }
    }
    __syncthreads();
    for (int e = tid; e < n * tile; e += blockDim.x) {
      const int i = e / tile, c = e % tile;
      if (c >= ncol) continue;
      float acc = 0.0f;
      if (p > 0) {
        const float* qi = phi_q + static_cast<std::int64_t>(p + i) * f;
        for (int x = 0; x < f; ++x) acc = fmaf(qi[x], S[x * tile + c], acc);
        acc *= qf[i];
      }
      for (int j = 0; j <= i; ++j) acc = fmaf(A[i * C + j], vs[j * tile + c], acc);
      if constexpr (Sums)
        num_out[static_cast<std::int64_t>(p + i) * dv + c0 + c] = acc;
      else
        out[static_cast<std::int64_t>(p + i) * dv + c0 + c] = cuda::from_f32<T>(acc / fmaxf(den[i], floor));
    }
    __syncthreads();  // every read of the old state is done
    // The state moves to the reference `last`; at p = 0 it is empty (0, whatever the factor).
    const float g = p == 0 ? 0.0f : (log_scale ? expf(ref - last) : 1.0f);
    for (int e = tid; e < f * tile; e += blockDim.x) {
      const int x = e / tile, c = e % tile;
      float s = S[e] * g;
      for (int j = 0; j < n; ++j) s = fmaf(phi_k[static_cast<std::int64_t>(p + j) * f + x] * kf[j], vs[j * tile + c], s);
      S[e] = s;
    }
    for (int x = tid; x < f; x += blockDim.x) {
      float s = z[x] * g;
      for (int j = 0; j < n; ++j) s = fmaf(phi_k[static_cast<std::int64_t>(p + j) * f + x], kf[j], s);
      z[x] = s;
    }
    ref = last;
    __syncthreads();
  }
}

template <typename T>
void launch_typed(const feature_attention& a, const float* phi_q, const float* phi_k, const float* key_log_scale,
                  const void* v, void* out, const causal_scan_plan& plan, cudaStream_t stream) {
  if (plan.shared_bytes > 48 * 1024)
    SB_CUDA_CHECK(cudaFuncSetAttribute(causal_scan_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(plan.shared_bytes)));
  const dim3 grid(static_cast<unsigned>(a.heads), static_cast<unsigned>((a.dv + plan.value_tile - 1) / plan.value_tile));
  const float floor = fmaxf(a.den_floor, FLT_MIN);
  causal_scan_kernel<T><<<grid, scan_threads, plan.shared_bytes, stream>>>(
      phi_q, phi_k, key_log_scale, static_cast<const T*>(v), static_cast<T*>(out), a.t, a.features, a.dv,
      plan.value_tile, floor);
  SB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void launch_sums_typed(const feature_attention& a, const float* phi_q, const float* phi_k, const float* key_log_scale,
                       const void* v, float* num, float* den, const causal_scan_plan& plan, cudaStream_t stream) {
  if (plan.shared_bytes > 48 * 1024)
    SB_CUDA_CHECK(cudaFuncSetAttribute(causal_scan_kernel<T, true>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(plan.shared_bytes)));
  const dim3 grid(static_cast<unsigned>(a.heads), static_cast<unsigned>((a.dv + plan.value_tile - 1) / plan.value_tile));
  causal_scan_kernel<T, true><<<grid, scan_threads, plan.shared_bytes, stream>>>(
      phi_q, phi_k, key_log_scale, static_cast<const T*>(v), nullptr, a.t, a.features, a.dv, plan.value_tile, 0.0f,
      num, den);
  SB_CUDA_CHECK_LAUNCH();
}

/// The scan's launch plan for this device, or unsupported_case.
causal_scan_plan device_plan(const feature_attention& a) {
  int device = 0, optin = 0;
  SB_CUDA_CHECK(cudaGetDevice(&device));
  SB_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  const auto plan = plan_causal_scan(a.features, a.dv, static_cast<std::size_t>(optin));
  if (!plan)
    throw unsupported_case("causal linear-attention scan on CUDA: the fp32 state of " + std::to_string(a.features) +
                           " features does not fit in " + std::to_string(optin) + " bytes of shared memory per block");
  if (a.heads > 2147483647LL) throw unsupported_case("causal linear-attention scan on CUDA: more than 2^31 - 1 heads");
  return *plan;
}

}  // namespace

void launch_causal_scan_sums(const feature_attention& a, const float* phi_q, const float* phi_k,
                             const float* key_log_scale, const void* v, float* num, float* den, cudaStream_t stream) {
  if (a.heads <= 0 || a.t <= 0) return;
  const causal_scan_plan plan = device_plan(a);
  switch (a.type) {
    case dtype::fp32: launch_sums_typed<float>(a, phi_q, phi_k, key_log_scale, v, num, den, plan, stream); break;
    case dtype::fp16: launch_sums_typed<__half>(a, phi_q, phi_k, key_log_scale, v, num, den, plan, stream); break;
    case dtype::bf16: launch_sums_typed<__nv_bfloat16>(a, phi_q, phi_k, key_log_scale, v, num, den, plan, stream); break;
  }
}

void launch_causal_scan(const feature_attention& a, const float* phi_q, const float* phi_k,
                        const float* key_log_scale, const void* v, void* out, cudaStream_t stream) {
  if (a.heads <= 0 || a.t <= 0) return;
  const causal_scan_plan plan = device_plan(a);
  switch (a.type) {
    case dtype::fp32: launch_typed<float>(a, phi_q, phi_k, key_log_scale, v, out, plan, stream); break;
    case dtype::fp16: launch_typed<__half>(a, phi_q, phi_k, key_log_scale, v, out, plan, stream); break;
    case dtype::bf16: launch_typed<__nv_bfloat16>(a, phi_q, phi_k, key_log_scale, v, out, plan, stream); break;
  }
}

}  // namespace sb::linear_cuda
