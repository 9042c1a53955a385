// reformer's LSH kernels on CUDA (lsh_cuda.hpp): hashing, the segmented sort, the chunk index and the
// multi-round attention.
#include "attention_variants/reformer/lsh_cuda.hpp"

#include <cub/device/device_segmented_radix_sort.cuh>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "attention_variants/sparse_common/attend_row_warp.cuh"
#include "attention_variants/sparse_common/sparse_attend_cuda.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_convert.cuh"

namespace sb::lsh::cuda_kernels {
namespace {

constexpr int warps_per_block = 8;

/// The fields of lsh::config the kernels need (a trivially copyable kernel argument).
struct dims {
  int t, d, chunk, n_chunks, n_buckets, n_hashes;
  bool causal, dedup;
  float scale;
};

dims dims_of(const config& cfg) {
  return {cfg.seq_len, cfg.head_dim, cfg.chunk, cfg.n_chunks(), cfg.n_buckets, cfg.n_hashes, cfg.causal, cfg.dedup,
          cfg.scale};
}

__device__ __forceinline__ int chunk_begin(const dims& g, int ch) { return ch * g.chunk; }
__device__ __forceinline__ int chunk_end(const dims& g, int ch) { return ch == g.n_chunks - 1 ? g.t : (ch + 1) * g.chunk; }
__device__ __forceinline__ int prev_chunk(const dims& g, int ch) {
  return g.n_chunks == 1 ? -1 : (ch == 0 ? g.n_chunks - 1 : ch - 1);
}

/// (v, i) beats (w, j): larger value, ties lower index (torch.argmax's first maximum).
__device__ __forceinline__ bool better(float v, int i, float w, int j) { return v > w || (v == w && i < j); }

/// One warp per (head, position): every round's bucket. keys/values: [B·H, n_hashes, T].
template <typename E>
__global__ void __launch_bounds__(warps_per_block * 32)
    hash_kernel(const E* __restrict__ q, const float* __restrict__ rotations, dims g, std::int64_t rows,
                std::int32_t* __restrict__ keys, std::int32_t* __restrict__ values) {
  __shared__ float qs[warps_per_block][sparse::cuda_kernels::max_head_dim];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const std::int64_t w = static_cast<std::int64_t>(blockIdx.x) * warps_per_block + warp;
  if (w >= rows) return;
  const std::int64_t bh = w / g.t;
  const int i = static_cast<int>(w - bh * g.t);
  for (int c = lane; c < g.d; c += 32) qs[warp][c] = cuda::to_f32(q[w * g.d + c]);
  __syncwarp();
  const int half = g.n_buckets / 2;
  for (int r = 0; r < g.n_hashes; ++r) {
    const float* rot = rotations + static_cast<std::int64_t>(r) * g.d * half;
    float best_v = -INFINITY;
    int best_i = 0x7fffffff;
    for (int j = lane; j < half; j += 32) {
      float x = 0.0f;
      for (int c = 0; c < g.d; ++c) x += qs[warp][c] * rot[static_cast<std::int64_t>(c) * half + j];
      if (better(x, j, best_v, best_i)) best_v = x, best_i = j;
      if (better(-x, half + j, best_v, best_i)) best_v = -x, best_i = half + j;
    }
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, best_v, o);
      const int oi = __shfl_xor_sync(0xffffffffu, best_i, o);
      if (better(ov, oi, best_v, best_i)) best_v = ov, best_i = oi;
    }
    if (lane == 0) {
      const std::int64_t at = (bh * g.n_hashes + r) * g.t + i;
      keys[at] = best_i;
      values[at] = i;
    }
  }
}

__global__ void segment_offsets_kernel(std::int32_t* offsets, int segments, int t) {
  const int s = blockIdx.x * blockDim.x + threadIdx.x;
  if (s <= segments) offsets[s] = s * t;
}

/// chunk_of[bh, pos, r] = (slot of pos in round r's sorted order) / chunk.
__global__ void chunk_of_kernel(const std::int32_t* __restrict__ sorted, dims g, std::int64_t items,
                                std::int32_t* __restrict__ chunk_of) {
  const std::int64_t x = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (x >= items) return;
  const std::int64_t seg = x / g.t;  // bh·n_hashes + r
  const int s = static_cast<int>(x - seg * g.t);
  const std::int64_t bh = seg / g.n_hashes;
  const int r = static_cast<int>(seg - bh * g.n_hashes);
  chunk_of[(bh * g.t + sorted[x]) * g.n_hashes + r] = s / g.chunk;
}

template <typename E>
__global__ void inverse_norms_kernel(const E* __restrict__ q, int d, std::int64_t rows, float* __restrict__ inv) {
  const std::int64_t j = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= rows) return;
  double ss = 0;  // fp64 as the CPU (F.normalize; a zero vector stays zero)
  for (int c = 0; c < d; ++c) {
    const double x = cuda::to_f32(q[j * d + c]);
    ss += x * x;
  }
  inv[j] = static_cast<float>(1.0 / fmax(sqrt(ss), 1e-12));
}

template <typename E, int CH>
__global__ void __launch_bounds__(warps_per_block * 32)
    attend_kernel(const E* __restrict__ q, const E* __restrict__ v, const std::int32_t* __restrict__ sorted,
                  const std::int32_t* __restrict__ chunk_of, const float* __restrict__ inv_norm, dims g,
                  std::int64_t rows, E* __restrict__ out) {
  const int lane = threadIdx.x & 31;
  const std::int64_t w = static_cast<std::int64_t>(blockIdx.x) * warps_per_block + (threadIdx.x >> 5);
  if (w >= rows) return;
  const std::int64_t bh = w / g.t;
  const int i = static_cast<int>(w - bh * g.t);
  const std::int64_t head_off = bh * static_cast<std::int64_t>(g.t) * g.d;
  const E* qh = q + head_off;
  const E* vh = v + head_off;
  const std::int32_t* my_chunks = chunk_of + (bh * g.t + i) * g.n_hashes;
  const bool dedup = g.dedup && g.n_hashes > 1;

  float qr[CH], o[CH], acc[CH];
#pragma unroll
  for (int u = 0; u < CH; ++u) {
    const int c = lane + 32 * u;
    qr[u] = c < g.d ? cuda::to_f32(qh[static_cast<std::int64_t>(i) * g.d + c]) : 0.0f;
    o[u] = 0.0f;
  }
  float big_l = -INFINITY;  // running logsumexp over rounds
  for (int r = 0; r < g.n_hashes; ++r) {
    const std::int32_t* order = sorted + (bh * g.n_hashes + r) * g.t;
    const int ch = my_chunks[r], p = prev_chunk(g, ch);
    const int own_begin = chunk_begin(g, ch), n_own = chunk_end(g, ch) - own_begin;
    const int prev_begin = p < 0 ? 0 : chunk_begin(g, p);
    const int n_keys = n_own + (p < 0 ? 0 : chunk_end(g, p) - prev_begin);
#pragma unroll
    for (int u = 0; u < CH; ++u) acc[u] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    for (int e0 = 0; e0 < n_keys; e0 += 32) {
      const int n = n_keys - e0 < 32 ? n_keys - e0 : 32;
      // Each lane prepares one key of the batch: its position, visibility and dedup correction.
      int my_j = 0;
      bool my_visible = false;
      float my_adjust = 0.0f;
      if (lane < n) {
        const int e = e0 + lane;
        my_j = order[e < n_own ? own_begin + e : prev_begin + (e - n_own)];
        my_visible = !(g.causal && my_j > i);
        if (dedup && my_visible) {
          const std::int32_t* cj = chunk_of + (bh * g.t + my_j) * g.n_hashes;
          int rounds = 0;
          for (int rr = 0; rr < g.n_hashes; ++rr) {
            const int qc = my_chunks[rr];
            rounds += (cj[rr] == qc) | (cj[rr] == prev_chunk(g, qc));
          }
          my_adjust = logf(static_cast<float>(rounds));  // ≥ 1: round r itself
        }
      }
      for (int e = 0; e < n; ++e) {
        const int j = __shfl_sync(0xffffffffu, my_j, e);
        const bool visible = __shfl_sync(0xffffffffu, my_visible ? 1 : 0, e) != 0;
        const float adjust = __shfl_sync(0xffffffffu, my_adjust, e);
        if (!visible) continue;  // weight exp(−inf) = 0
        const E* kr = qh + static_cast<std::int64_t>(j) * g.d;
        const float inv = inv_norm[bh * g.t + j];
        float part = 0.0f;
#pragma unroll
        for (int u = 0; u < CH; ++u) {
          const int c = lane + 32 * u;
          if (c < g.d) part += qr[u] * (cuda::to_f32(kr[c]) * inv);
        }
        float s = g.scale * sparse::cuda_kernels::warp_sum(part);
        if (j == i) s = self_score;
        s -= adjust;
        const float m_new = fmaxf(m, s);
        const float corr = expf(m - m_new);
        const float pj = expf(s - m_new);
        l = l * corr + pj;
        const E* vr = vh + static_cast<std::int64_t>(j) * g.d;
#pragma unroll
        for (int u = 0; u < CH; ++u) {
          const int c = lane + 32 * u;
          acc[u] = acc[u] * corr + (c < g.d ? pj * cuda::to_f32(vr[c]) : 0.0f);
        }
        m = m_new;
      }
    }
    // The query's own key is always in its window and visible, so l > 0.
    const float l_r = m + logf(l);
    const float inv_l = 1.0f / l;
    if (big_l == -INFINITY) {
#pragma unroll
      for (int u = 0; u < CH; ++u) o[u] = acc[u] * inv_l;
      big_l = l_r;
      continue;
    }
    // The CPU's convex combine: weight σ(δ) for the new round, δ = ℓ_r − L.
    const float delta = l_r - big_l;
    const float ex = expf(-fabsf(delta));
    const float w_new = delta >= 0 ? 1.0f / (1.0f + ex) : ex / (1.0f + ex);
#pragma unroll
    for (int u = 0; u < CH; ++u) o[u] += w_new * (acc[u] * inv_l - o[u]);
    big_l = fmaxf(big_l, l_r) + log1pf(ex);
  }
  E* orow = out + head_off + static_cast<std::int64_t>(i) * g.d;
#pragma unroll
  for (int u = 0; u < CH; ++u) {
    const int c = lane + 32 * u;
    if (c < g.d) orow[c] = cuda::from_f32<E>(o[u]);
  }
}

unsigned grid_for(std::int64_t n, int per_block) {
  const std::int64_t blocks = (n + per_block - 1) / per_block;
  if (blocks > std::numeric_limits<int>::max())
    throw std::invalid_argument("reformer (CUDA): too many rows for one launch");
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

int key_bits(int n_buckets) {
  int bits = 1;
  while ((1 << bits) < n_buckets) ++bits;
  return bits;
}

}  // namespace

std::size_t sort_temp_bytes(int segments, int seq_len, int n_buckets) {
  std::size_t bytes = 0;
  cub::DoubleBuffer<std::int32_t> k(nullptr, nullptr), v(nullptr, nullptr);
  SB_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(nullptr, bytes, k, v, segments * seq_len, segments,
                                                         static_cast<const std::int32_t*>(nullptr),
                                                         static_cast<const std::int32_t*>(nullptr) + 1, 0,
                                                         key_bits(n_buckets)));
  return bytes;
}

void build_index(const config& cfg, int heads_total, const void* q, dtype type, const float* rotations,
                 index_buffers& buf, const std::int32_t** sorted, std::int32_t* chunk_of, cudaStream_t stream) {
  const dims g = dims_of(cfg);
  const std::int64_t rows = static_cast<std::int64_t>(heads_total) * g.t;
  if (g.d > sparse::cuda_kernels::max_head_dim)
    throw std::invalid_argument("reformer (CUDA): head_dim " + std::to_string(g.d) + " above " +
                                std::to_string(sparse::cuda_kernels::max_head_dim));
  by_type(type, [&](auto zero) {
    using E = decltype(zero);
    hash_kernel<E><<<grid_for(rows, warps_per_block), warps_per_block * 32, 0, stream>>>(
        static_cast<const E*>(q), rotations, g, rows, buf.keys[0], buf.values[0]);
  });
  SB_CUDA_CHECK_LAUNCH();
  const int segments = heads_total * g.n_hashes;
  segment_offsets_kernel<<<grid_for(segments + 1, 256), 256, 0, stream>>>(buf.offsets, segments, g.t);
  SB_CUDA_CHECK_LAUNCH();
  cub::DoubleBuffer<std::int32_t> keys(buf.keys[0], buf.keys[1]), values(buf.values[0], buf.values[1]);
  std::size_t temp = buf.temp_bytes;
  SB_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(buf.temp, temp, keys, values, segments * g.t, segments,
                                                         static_cast<const std::int32_t*>(buf.offsets),
                                                         static_cast<const std::int32_t*>(buf.offsets) + 1, 0,
                                                         key_bits(g.n_buckets),
                                                         stream));
  *sorted = values.Current();
  const std::int64_t items = static_cast<std::int64_t>(segments) * g.t;
  chunk_of_kernel<<<grid_for(items, 256), 256, 0, stream>>>(values.Current(), g, items, chunk_of);
  SB_CUDA_CHECK_LAUNCH();
}

void inverse_norms(const config& cfg, int heads_total, const void* q, dtype type, float* inv_norm,
                   cudaStream_t stream) {
  const std::int64_t rows = static_cast<std::int64_t>(heads_total) * cfg.seq_len;
  by_type(type, [&](auto zero) {
    using E = decltype(zero);
    inverse_norms_kernel<E><<<grid_for(rows, 256), 256, 0, stream>>>(static_cast<const E*>(q), cfg.head_dim, rows,
                                                                    inv_norm);
  });
  SB_CUDA_CHECK_LAUNCH();
}

void attend(const config& cfg, int heads_total, const void* q, const void* v, dtype type, const std::int32_t* sorted,
            const std::int32_t* chunk_of, const float* inv_norm, void* out, cudaStream_t stream) {
  const dims g = dims_of(cfg);
  const std::int64_t rows = static_cast<std::int64_t>(heads_total) * g.t;
  by_type(type, [&](auto zero) {
    using E = decltype(zero);
    sparse::cuda_kernels::dispatch_head_dim(g.d, [&](auto ch) {
      attend_kernel<E, decltype(ch)::value><<<grid_for(rows, warps_per_block), warps_per_block * 32, 0, stream>>>(
          static_cast<const E*>(q), static_cast<const E*>(v), sorted, chunk_of, inv_norm, g, rows,
          static_cast<E*>(out));
    });
  });
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::lsh::cuda_kernels
