// scatterbrain's own CUDA kernels (scatterbrain_cuda.hpp): the corrected combination's per-row
// correction over the LSH support, and the element-wise sum of the `sum` combination.
//
// corrected: one warp per query row i of head h. Its support S_i is the union over rounds of the keys
// in its own and previous chunk of that round's sorted order (causal: j ≤ i); i itself is always in
// its own chunk, so S_i ∪ {i} = S_i, as corrected_support on the host. A key that several rounds share
// is taken in the first round that holds it (for each earlier round rr, is chunk_of[j, rr] the row's
// chunk or its previous one?). Two passes over S_i, as corrected_head on the CPU (corrected.cpp):
//   1. |S_i| and the top exact log-kernel max_j s_ij, s_ij = τ·q_i·k_j − c_i − ρ_i;
//   2. full = |S_i| = #visible keys; L = max(top, log den_i) unless full (then the Performer sums are
//      dropped); num, den ← e^{−L}·(Performer sums, or 0 when full); per key
//      w = e^{s_ij − L} − [not full]·φq_i·φk_j·(causal ? e^{r_j − ρ_i − L} : e^{−L}),
//      num += w·v_j, den += w; o_i = num / max(den, FLT_MIN).
// Lane l holds dimensions l, l+32, … of q_i, the accumulator and v_j; scores are butterfly sums.
#include "attention_variants/scatterbrain/scatterbrain_cuda.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "attention_variants/sparse_common/attend_row_warp.cuh"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_convert.cuh"

namespace sb::scatterbrain_cuda {
namespace {

constexpr int warps_per_block = 8;

/// The fields of lsh::config and the Performer the kernel needs (a trivially copyable argument).
struct dims {
  int t, d, m, chunk, n_chunks, n_hashes;
  bool causal;
  float tau;
};

__device__ __forceinline__ int chunk_begin(const dims& g, int ch) { return ch * g.chunk; }
__device__ __forceinline__ int chunk_end(const dims& g, int ch) { return ch == g.n_chunks - 1 ? g.t : (ch + 1) * g.chunk; }
__device__ __forceinline__ int prev_chunk(const dims& g, int ch) {
  return g.n_chunks == 1 ? -1 : (ch == 0 ? g.n_chunks - 1 : ch - 1);
}

/// Calls visit(j) once for every key of row i's support (the first round that holds it).
template <typename Visit>
__device__ __forceinline__ void for_each_support_key(const dims& g, const std::int32_t* sorted_h,
                                                     const std::int32_t* chunk_of_h, int i, int lane, Visit&& visit) {
  const std::int32_t* my_chunks = chunk_of_h + static_cast<std::int64_t>(i) * g.n_hashes;
  for (int r = 0; r < g.n_hashes; ++r) {
    const std::int32_t* order = sorted_h + static_cast<std::int64_t>(r) * g.t;
    const int ch = my_chunks[r], p = prev_chunk(g, ch);
    const int own_begin = chunk_begin(g, ch), n_own = chunk_end(g, ch) - own_begin;
    const int prev_begin = p < 0 ? 0 : chunk_begin(g, p);
    const int n_keys = n_own + (p < 0 ? 0 : chunk_end(g, p) - prev_begin);
    for (int e0 = 0; e0 < n_keys; e0 += 32) {
      const int n = n_keys - e0 < 32 ? n_keys - e0 : 32;
      int my_j = 0;
      bool my_take = false;
      if (lane < n) {
        const int e = e0 + lane;
        my_j = order[e < n_own ? own_begin + e : prev_begin + (e - n_own)];
        my_take = !(g.causal && my_j > i);
        const std::int32_t* cj = chunk_of_h + static_cast<std::int64_t>(my_j) * g.n_hashes;
        for (int rr = 0; rr < r && my_take; ++rr) {
          const int qc = my_chunks[rr];
          if (cj[rr] == qc || cj[rr] == prev_chunk(g, qc)) my_take = false;  // counted in round rr
        }
      }
      const unsigned take = __ballot_sync(0xffffffffu, my_take);
      for (int e = 0; e < n; ++e) {
        const int j = __shfl_sync(0xffffffffu, my_j, e);
        if (take & (1u << e)) visit(j);
      }
    }
  }
}

template <typename E, int CH>
__global__ void __launch_bounds__(warps_per_block * 32)
    corrected_kernel(const E* __restrict__ q, const E* __restrict__ k, const E* __restrict__ v,
                     const float* __restrict__ phi_q, const float* __restrict__ phi_k,
                     const float* __restrict__ q_stab, const float* __restrict__ key_ref,
                     const float* __restrict__ num_in, const float* __restrict__ den_in,
                     const std::int32_t* __restrict__ sorted, const std::int32_t* __restrict__ chunk_of, dims g,
                     std::int64_t rows, E* __restrict__ out, unsigned long long* __restrict__ pairs) {
  const int lane = threadIdx.x & 31;
  const std::int64_t w = static_cast<std::int64_t>(blockIdx.x) * warps_per_block + (threadIdx.x >> 5);
  if (w >= rows) return;
  const std::int64_t bh = w / g.t;
  const int i = static_cast<int>(w - bh * g.t);
  const std::int64_t head_off = bh * static_cast<std::int64_t>(g.t) * g.d;
  const E* kh = k + head_off;
  const E* vh = v + head_off;
  const float* phi_kh = phi_k + bh * static_cast<std::int64_t>(g.t) * g.m;
  const float* fq = phi_q + w * g.m;
  const std::int32_t* sorted_h = sorted + bh * g.n_hashes * static_cast<std::int64_t>(g.t);
  const std::int32_t* chunk_of_h = chunk_of + bh * static_cast<std::int64_t>(g.t) * g.n_hashes;
  // ρ_i: the running key maximum r_i (causal) or the head's key constant c_K.
  const float ref = g.causal ? key_ref[w] : key_ref[bh];
  const float c_i = q_stab[w];

  float qr[CH], acc[CH];
#pragma unroll
  for (int u = 0; u < CH; ++u) {
    const int c = lane + 32 * u;
    qr[u] = c < g.d ? cuda::to_f32(q[head_off + static_cast<std::int64_t>(i) * g.d + c]) : 0.0f;
  }
  auto log_kernel = [&](int j) {
    const E* kr = kh + static_cast<std::int64_t>(j) * g.d;
    float part = 0.0f;
#pragma unroll
    for (int u = 0; u < CH; ++u) {
      const int c = lane + 32 * u;
      if (c < g.d) part += qr[u] * cuda::to_f32(kr[c]);
    }
    return g.tau * sparse::cuda_kernels::warp_sum(part) - c_i - ref;
  };

  // Pass 1: |S_i| and the top exact log-kernel.
  int count = 0;
  float top = -INFINITY;
  for_each_support_key(g, sorted_h, chunk_of_h, i, lane, [&](int j) {
    ++count;
    top = fmaxf(top, log_kernel(j));
  });
  const bool full = count == (g.causal ? i + 1 : g.t);
  float den = 0.0f;
  if (!full) {
    den = den_in[w];
    if (den > 0.0f) top = fmaxf(top, logf(den));
  }
  const float shift = isfinite(top) ? top : 0.0f;
  const float gain = expf(-shift);
  den *= gain;
#pragma unroll
  for (int u = 0; u < CH; ++u) {
    const int c = lane + 32 * u;
    acc[u] = !full && c < g.d ? num_in[w * g.d + c] * gain : 0.0f;
  }
  // Pass 2: exact kernel in, the Performer's estimate of the same pair out.
  for_each_support_key(g, sorted_h, chunk_of_h, i, lane, [&](int j) {
    float wt = expf(log_kernel(j) - shift);
    if (!full) {
      const float* fk = phi_kh + static_cast<std::int64_t>(j) * g.m;
      float part = 0.0f;
      for (int x = lane; x < g.m; x += 32) part += fq[x] * fk[x];
      float approx = sparse::cuda_kernels::warp_sum(part);
      approx *= g.causal ? expf(key_ref[bh * g.t + j] - ref - shift) : gain;
      wt -= approx;
    }
    const E* vr = vh + static_cast<std::int64_t>(j) * g.d;
#pragma unroll
    for (int u = 0; u < CH; ++u) {
      const int c = lane + 32 * u;
      if (c < g.d) acc[u] += wt * cuda::to_f32(vr[c]);
    }
    den += wt;
  });
  const float inv = 1.0f / fmaxf(den, FLT_MIN);
  E* orow = out + head_off + static_cast<std::int64_t>(i) * g.d;
#pragma unroll
  for (int u = 0; u < CH; ++u) {
    const int c = lane + 32 * u;
    if (c < g.d) orow[c] = cuda::from_f32<E>(acc[u] * inv);
  }
  if (lane == 0) atomicAdd(pairs, static_cast<unsigned long long>(count));
}

template <typename E>
__global__ void add_kernel(E* __restrict__ out, const E* __restrict__ other, std::size_t n) {
  for (std::size_t x = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; x < n;
       x += std::size_t{gridDim.x} * blockDim.x)
    out[x] = cuda::from_f32<E>(cuda::to_f32(out[x]) + cuda::to_f32(other[x]));
}

template <typename F>
void by_type(dtype t, F&& f) {
  switch (t) {
    case dtype::fp32: f(float{}); break;
    case dtype::fp16: f(__half{}); break;
    case dtype::bf16: f(__nv_bfloat16{}); break;
  }
}

}  // namespace

void launch_corrected(const corrected_args& a, cudaStream_t stream) {
  const lsh::config& cfg = a.lsh;
  const dims g{cfg.seq_len, cfg.head_dim, a.features, cfg.chunk, cfg.n_chunks(), cfg.n_hashes, cfg.causal,
               1.0f / std::sqrt(static_cast<float>(cfg.head_dim))};
  const std::int64_t rows = a.heads * g.t;
  if (rows <= 0) return;
  const std::int64_t blocks = (rows + warps_per_block - 1) / warps_per_block;
  if (blocks > std::numeric_limits<int>::max())
    throw std::invalid_argument("scatterbrain (CUDA): too many rows for one launch");
  by_type(a.type, [&](auto zero) {
    using E = decltype(zero);
    sparse::cuda_kernels::dispatch_head_dim(g.d, [&](auto ch) {
      corrected_kernel<E, decltype(ch)::value><<<static_cast<unsigned>(blocks), warps_per_block * 32, 0, stream>>>(
          static_cast<const E*>(a.q), static_cast<const E*>(a.k), static_cast<const E*>(a.v), a.phi_q, a.phi_k,
          a.q_stab, a.key_ref, a.num, a.den, a.sorted, a.chunk_of, g, rows, static_cast<E*>(a.out), a.pairs);
    });
  });
  SB_CUDA_CHECK_LAUNCH();
}

void launch_add(void* out, const void* other, dtype type, std::size_t n, cudaStream_t stream) {
  if (n == 0) return;
  constexpr int threads = 256;
  const std::size_t want = (n + threads - 1) / threads;
  const auto blocks = static_cast<unsigned>(want < 65535 * 32 ? want : 65535 * 32);
  by_type(type, [&](auto zero) {
    using E = decltype(zero);
    add_kernel<E><<<blocks, threads, 0, stream>>>(static_cast<E*>(out), static_cast<const E*>(other), n);
  });
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::scatterbrain_cuda
