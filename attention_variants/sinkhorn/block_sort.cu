// sinkhorn on CUDA (block_sort_cuda.hpp): summaries, block selection and block attention kernels.
// The summaries accumulate in the CPU's order (one thread per (head, block, dimension), or per
// (head, dimension) for the causal running query mean), so they match the CPU bit for bit in fp32;
// block logits are plain fp32 dot products (the CPU's come from a GEMM, so a near-tie between two
// candidate blocks could order differently; the tests use inputs without such ties).
#include "attention_variants/sinkhorn/block_sort_cuda.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "attention_variants/sparse_common/attend_row_warp.cuh"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_convert.cuh"

namespace sb::block_sort::cuda_kernels {
namespace {

constexpr int select_threads = 128;
constexpr int attend_warps = 8;

__device__ __forceinline__ int block_begin(const shape& s, int a) { return a * s.block; }
__device__ __forceinline__ int block_end(const shape& s, int a) { return a == s.nb - 1 ? s.t : (a + 1) * s.block; }
__device__ __forceinline__ int n_select(const shape& s, int a) {
  const int cand = s.causal ? a : s.nb - 1;
  return s.n_sorted < cand ? s.n_sorted : cand;
}

template <typename E>
__global__ void block_means_kernel(const E* __restrict__ x, float* __restrict__ out, shape s) {
  const std::int64_t idx = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t total = static_cast<std::int64_t>(s.heads_total) * s.nb * s.d;
  if (idx >= total) return;
  const int c = static_cast<int>(idx % s.d);
  const std::int64_t hb = idx / s.d;  // bh·nb + block
  const int a = static_cast<int>(hb % s.nb);
  const std::int64_t bh = hb / s.nb;
  const E* head = x + bh * static_cast<std::int64_t>(s.t) * s.d;
  const int begin = block_begin(s, a), end = block_end(s, a);
  float acc = 0.0f;
  for (int i = begin; i < end; ++i) acc += cuda::to_f32(head[static_cast<std::int64_t>(i) * s.d + c]);
  out[idx] = acc * (1.0f / static_cast<float>(end - begin));
}

/// Causal q̄_a = mean of q_0 … q_{a·b}: one running sum per (head, dimension), in position order.
template <typename E>
__global__ void causal_query_means_kernel(const E* __restrict__ q, float* __restrict__ out, shape s) {
  const std::int64_t idx = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<std::int64_t>(s.heads_total) * s.d) return;
  const int c = static_cast<int>(idx % s.d);
  const std::int64_t bh = idx / s.d;
  const E* head = q + bh * static_cast<std::int64_t>(s.t) * s.d;
  float acc = 0.0f;
  int pos = 0;
  for (int a = 0; a < s.nb; ++a) {
    for (; pos <= a * s.block; ++pos) acc += cuda::to_f32(head[static_cast<std::int64_t>(pos) * s.d + c]);
    out[(bh * s.nb + a) * s.d + c] = acc * (1.0f / static_cast<float>(a * s.block + 1));
  }
}

/// (v, i) beats (w, j): larger value, ties lower index; index −1 is "none".
__device__ __forceinline__ bool better(float v, int i, float w, int j) {
  if (j < 0) return i >= 0;
  if (i < 0) return false;
  return v > w || (v == w && i < j);
}

/// One block per (head, query block a): the row of block logits (computed from the summaries, or read
/// from `matrix`), then n_select(a) rounds of a block-wide argmax over the candidates not yet taken
/// (a taken one is marked NaN).
__global__ void __launch_bounds__(select_threads)
    select_kernel(shape s, const float* __restrict__ qbar, const float* __restrict__ kbar, const float* matrix,
                  std::int32_t* __restrict__ selected) {
  extern __shared__ float logit[];  // [nb]
  __shared__ float best_v[select_threads / 32];
  __shared__ int best_i[select_threads / 32];
  const std::int64_t bh = blockIdx.x / s.nb;
  const int a = static_cast<int>(blockIdx.x % s.nb);
  const int width = s.causal ? a : s.nb;  // candidates: c < a causally, c ≠ a otherwise
  const float* qa = qbar + (bh * s.nb + a) * s.d;
  for (int c = threadIdx.x; c < width; c += blockDim.x) {
    if (c == a) continue;
    if (matrix) {
      logit[c] = matrix[(bh * s.nb + a) * s.nb + c];
    } else {
      const float* kc = kbar + (bh * s.nb + c) * s.d;
      float dot = 0.0f;
      for (int e = 0; e < s.d; ++e) dot += qa[e] * kc[e];
      logit[c] = s.scale * dot;
    }
  }
  __syncthreads();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  std::int32_t* out = selected + (bh * s.nb + a) * s.max_select;
  for (int r = 0; r < n_select(s, a); ++r) {
    float v = 0.0f;
    int i = -1;
    for (int c = threadIdx.x; c < width; c += blockDim.x)
      if (c != a && !isnan(logit[c]) && better(logit[c], c, v, i)) v = logit[c], i = c;
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, v, o);
      const int oi = __shfl_xor_sync(0xffffffffu, i, o);
      if (better(ov, oi, v, i)) v = ov, i = oi;
    }
    if (lane == 0) best_v[warp] = v, best_i[warp] = i;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 1; w < select_threads / 32; ++w)
        if (better(best_v[w], best_i[w], v, i)) v = best_v[w], i = best_i[w];
      out[r] = i;
      logit[i] = NAN;
    }
    __syncthreads();
  }
}

/// pooled_sinkhorn logits of one head: one thread per row for the GEMM and the row passes, one per
/// column for the column passes, each sequential in the CPU's order.
__global__ void sinkhorn_kernel(shape s, const float* __restrict__ qbar, const float* __restrict__ kbar, float alpha,
                                int iters, float* __restrict__ logits) {
  const std::int64_t bh = blockIdx.x;
  const int nb = s.nb;
  float* l = logits + bh * nb * nb;
  for (int a = threadIdx.x; a < nb; a += blockDim.x) {
    const float* qa = qbar + (bh * nb + a) * s.d;
    for (int c = 0; c < nb; ++c) {
      const float* kc = kbar + (bh * nb + c) * s.d;
      float dot = 0.0f;
      for (int e = 0; e < s.d; ++e) dot += qa[e] * kc[e];
      l[static_cast<std::int64_t>(a) * nb + c] = c == a ? -INFINITY : alpha * dot;  // the own block is local
    }
  }
  __syncthreads();
  for (int it = 0; it < iters; ++it) {
    for (int a = threadIdx.x; a < nb; a += blockDim.x) {
      float* row = l + static_cast<std::int64_t>(a) * nb;
      float mx = -INFINITY;
      for (int c = 0; c < nb; ++c) mx = fmaxf(mx, row[c]);
      if (mx == -INFINITY) continue;
      float sum = 0.0f;
      for (int c = 0; c < nb; ++c) sum += expf(row[c] - mx);
      const float lse = mx + logf(sum);
      for (int c = 0; c < nb; ++c) row[c] -= lse;
    }
    __syncthreads();
    for (int c = threadIdx.x; c < nb; c += blockDim.x) {
      float mx = -INFINITY;
      for (int a = 0; a < nb; ++a) mx = fmaxf(mx, l[static_cast<std::int64_t>(a) * nb + c]);
      if (mx == -INFINITY) continue;
      float sum = 0.0f;
      for (int a = 0; a < nb; ++a) sum += expf(l[static_cast<std::int64_t>(a) * nb + c] - mx);
      const float lse = mx + logf(sum);
      for (int a = 0; a < nb; ++a) l[static_cast<std::int64_t>(a) * nb + c] -= lse;
    }
    __syncthreads();
  }
}

template <typename E, int CH>
__global__ void __launch_bounds__(attend_warps * 32)
    block_attend_kernel(shape s, const std::int32_t* __restrict__ selected) {
  const std::int64_t w = static_cast<std::int64_t>(blockIdx.x) * attend_warps + (threadIdx.x >> 5);
  if (w >= static_cast<std::int64_t>(s.heads_total) * s.t) return;
  const std::int64_t bh = w / s.t;
  const int i = static_cast<int>(w - bh * s.t);
  const int a = i / s.block;
  const int b0 = block_begin(s, a);
  const int n_own = (s.causal ? i + 1 : block_end(s, a)) - b0;
  const std::int32_t* sel = selected + (bh * s.nb + a) * s.max_select;
  const int n_sel = n_select(s, a);
  std::int64_t n_keys = n_own;
  for (int r = 0; r < n_sel; ++r) n_keys += block_end(s, sel[r]) - block_begin(s, sel[r]);
  // Own block first, then the selected blocks best first (the CPU's window order).
  auto key_at = [&](std::int64_t e) -> int {
    if (e < n_own) return b0 + static_cast<int>(e);
    e -= n_own;
    for (int r = 0; r < n_sel; ++r) {
      const int begin = block_begin(s, sel[r]), len = block_end(s, sel[r]) - begin;
      if (e < len) return begin + static_cast<int>(e);
      e -= len;
    }
    return 0;  // unreachable: e < n_keys
  };
  const std::int64_t head_off = bh * static_cast<std::int64_t>(s.t) * s.d;
  const std::int64_t row_off = head_off + static_cast<std::int64_t>(i) * s.d;
  sparse::cuda_kernels::attend_row_warp<E, CH>(static_cast<const E*>(s.q) + row_off,
                                              static_cast<const E*>(s.k) + head_off,
                                              static_cast<const E*>(s.v) + head_off, static_cast<E*>(s.out) + row_off,
                                              s.d, s.scale, n_keys, key_at);
}

unsigned grid_for(std::int64_t n, int threads, const char* what) {
  const std::int64_t blocks = (n + threads - 1) / threads;
  if (blocks > std::numeric_limits<int>::max())
    throw std::invalid_argument(std::string("sinkhorn (CUDA): too many ") + what + " for one launch");
  return static_cast<unsigned>(blocks);
}

template <typename F>
void by_type(dtype t, F&& f) {
  switch (t) {
    case dtype::fp32: f(float{}); break;
    case dtype::fp16: f(__half{}); break;
    case dtype::bf16: f(__nv_bfloat16{}); break;
  }
}

void launch_select(const shape& s, const float* qbar, const float* kbar, const float* matrix,
                   std::int32_t* selected, cudaStream_t stream) {
  const std::size_t smem = static_cast<std::size_t>(s.nb) * sizeof(float);
  if (smem > 48 * 1024) {
    int max_optin = 0, dev = 0;
    SB_CUDA_CHECK(cudaGetDevice(&dev));
    SB_CUDA_CHECK(cudaDeviceGetAttribute(&max_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    if (smem > static_cast<std::size_t>(max_optin))
      throw std::invalid_argument("sinkhorn (CUDA): " + std::to_string(s.nb) +
                                  " blocks per head exceed the shared memory of one block's logit row");
    SB_CUDA_CHECK(cudaFuncSetAttribute(select_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(smem)));
  }
  const std::int64_t cells = static_cast<std::int64_t>(s.heads_total) * s.nb;
  select_kernel<<<grid_for(cells, 1, "query blocks"), select_threads, smem, stream>>>(s, qbar, kbar, matrix, selected);
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_summaries(const shape& s, float* qbar, float* kbar, cudaStream_t stream) {
  constexpr int threads = 256;
  const std::int64_t cells = static_cast<std::int64_t>(s.heads_total) * s.nb * s.d;
  by_type(s.type, [&](auto zero) {
    using E = decltype(zero);
    block_means_kernel<E><<<grid_for(cells, threads, "summaries"), threads, 0, stream>>>(static_cast<const E*>(s.k),
                                                                                       kbar, s);
    if (s.causal) {
      const std::int64_t lanes = static_cast<std::int64_t>(s.heads_total) * s.d;
      causal_query_means_kernel<E><<<grid_for(lanes, threads, "summaries"), threads, 0, stream>>>(
          static_cast<const E*>(s.q), qbar, s);
    } else {
      block_means_kernel<E><<<grid_for(cells, threads, "summaries"), threads, 0, stream>>>(static_cast<const E*>(s.q),
                                                                                         qbar, s);
    }
  });
  SB_CUDA_CHECK_LAUNCH();
}

void launch_select_pooled(const shape& s, const float* qbar, const float* kbar, std::int32_t* selected,
                          cudaStream_t stream) {
  launch_select(s, qbar, kbar, nullptr, selected, stream);
}

void launch_select_sinkhorn(const shape& s, const float* qbar, const float* kbar, float temperature, int iters,
                            float* logits, std::int32_t* selected, cudaStream_t stream) {
  if (s.causal) throw std::invalid_argument("sinkhorn (CUDA): Sinkhorn balancing is non-causal only");
  sinkhorn_kernel<<<grid_for(s.heads_total, 1, "heads"), 256, 0, stream>>>(s, qbar, kbar, s.scale / temperature,
                                                                          iters, logits);
  SB_CUDA_CHECK_LAUNCH();
  launch_select(s, qbar, kbar, logits, selected, stream);
}

void launch_block_attend(const shape& s, const std::int32_t* selected, cudaStream_t stream) {
  const std::int64_t rows = static_cast<std::int64_t>(s.heads_total) * s.t;
  const unsigned grid = grid_for(rows, attend_warps, "rows");
  by_type(s.type, [&](auto zero) {
    using E = decltype(zero);
    sparse::cuda_kernels::dispatch_head_dim(s.d, [&](auto ch) {
      block_attend_kernel<E, decltype(ch)::value><<<grid, attend_warps * 32, 0, stream>>>(s, selected);
    });
  });
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::block_sort::cuda_kernels
