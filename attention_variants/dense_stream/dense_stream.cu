// dense_stream on CUDA: a straightforward online-softmax attention kernel (flash attention's
// recurrence without its tiling tricks; speed comes in the flash-kernel issue). A block of
// `queries_per_block` warps serves consecutive queries of one (batch, head), one query per warp.
// Keys arrive in tiles of 32 staged in shared memory as fp32: lane j scores key j of the tile
// against the warp's query, the warp takes the tile maximum, rescales its running sum and output
// accumulators, and adds the tile's p·v (lane c holds output columns c, c+32, ...). Everything is
// accumulated in fp32; the output is written once, in the input type.
#include "attention_variants/dense_stream/dense_stream_kernels.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_convert.cuh"

namespace sb::dense_stream_cuda {
namespace {

constexpr int queries_per_block = 8;  // warps per block
constexpr int keys_per_tile = 32;     // one key per lane
constexpr int max_chunks = max_head_dim / 32;

using cuda::from_f32;
using cuda::to_f32;

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// Shared memory: K tile [32][d + 1] (padded: lane j reads row j), V tile [32][d], queries [8][d].
std::size_t shared_bytes(int d) {
  return sizeof(float) * (static_cast<std::size_t>(keys_per_tile) * (d + 1) +
                          static_cast<std::size_t>(keys_per_tile) * d + static_cast<std::size_t>(queries_per_block) * d);
}

template <typename T>
__global__ void __launch_bounds__(queries_per_block * 32)
    stream_attention(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ o,
                     int t, int d, int causal, float tau, int query_blocks) {
  extern __shared__ float smem[];
  const int dk = d + 1;
  float* ks = smem;                          // [keys_per_tile][dk]
  float* vs = ks + keys_per_tile * dk;       // [keys_per_tile][d]
  float* qs = vs + keys_per_tile * d;        // [queries_per_block][d]
  const std::int64_t head = blockIdx.x / query_blocks;
  const int q0 = static_cast<int>(blockIdx.x % query_blocks) * queries_per_block;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int i = q0 + warp;
  const bool active = i < t;
  const std::int64_t base = head * t * d;

  float* qw = qs + warp * d;
  for (int c = lane; c < d; c += 32) qw[c] = active ? to_f32(q[base + static_cast<std::int64_t>(i) * d + c]) * tau : 0.0f;

  float acc[max_chunks];
#pragma unroll
  for (int r = 0; r < max_chunks; ++r) acc[r] = 0.0f;
  float row_max = -INFINITY, row_sum = 0.0f;

  const int last_query = min(q0 + queries_per_block, t) - 1;
  const int key_end = causal ? last_query + 1 : t;  // keys after the block's last query are masked for all
  for (int k0 = 0; k0 < key_end; k0 += keys_per_tile) {
    const int nk = min(keys_per_tile, key_end - k0);
    __syncthreads();  // the previous tile (and the queries, on the first pass) are written / consumed
    for (int e = threadIdx.x; e < keys_per_tile * d; e += blockDim.x) {
      const int j = e / d, c = e - j * d;
      float kv = 0.0f, vv = 0.0f;
      if (j < nk) {
        const std::int64_t at = base + static_cast<std::int64_t>(k0 + j) * d + c;
        kv = to_f32(k[at]);
        vv = to_f32(v[at]);
      }
      ks[j * dk + c] = kv;
      vs[j * d + c] = vv;
    }
    __syncthreads();
    if (!active) continue;

    const int j = k0 + lane;
    const bool visible = lane < nk && (!causal || j <= i);
    float score = -INFINITY;
    if (visible) {
      const float* kr = ks + lane * dk;
      float dot = 0.0f;
      for (int c = 0; c < d; ++c) dot = fmaf(qw[c], kr[c], dot);
      score = dot;
    }
    const float tile_max = warp_max(score);
    if (tile_max == -INFINITY) continue;  // nothing visible to this query in this tile (warp-uniform)
    const float new_max = fmaxf(row_max, tile_max);
    const float correction = expf(row_max - new_max);  // 0 on the first visible tile
    const float p = visible ? expf(score - new_max) : 0.0f;
    row_sum = row_sum * correction + warp_sum(p);
#pragma unroll
    for (int r = 0; r < max_chunks; ++r) acc[r] *= correction;
    for (int jj = 0; jj < nk; ++jj) {
      const float pj = __shfl_sync(0xffffffffu, p, jj);
      const float* vr = vs + jj * d;
#pragma unroll
      for (int r = 0; r < max_chunks; ++r) {
        const int c = lane + 32 * r;
        if (c < d) acc[r] = fmaf(pj, vr[c], acc[r]);
      }
    }
    row_max = new_max;
  }
  if (!active) return;
  const float inv = 1.0f / row_sum;  // row_sum ≥ 1: key 0 is visible to every query
  T* out = o + base + static_cast<std::int64_t>(i) * d;
#pragma unroll
  for (int r = 0; r < max_chunks; ++r) {
    const int c = lane + 32 * r;
    if (c < d) out[c] = from_f32<T>(acc[r] * inv);
  }
}

template <typename T>
void launch_typed(const void* q, const void* k, const void* v, void* o, std::int64_t heads, int t, int d, bool causal,
                  float tau, cudaStream_t stream) {
  const int query_blocks = (t + queries_per_block - 1) / queries_per_block;
  const std::int64_t blocks = heads * query_blocks;
  if (blocks > std::numeric_limits<int>::max())
    throw std::invalid_argument("dense_stream: more than 2^31 - 1 thread blocks in one launch");
  const std::size_t smem = shared_bytes(d);
  if (smem > 48 * 1024)
    SB_CUDA_CHECK(cudaFuncSetAttribute(stream_attention<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(smem)));
  stream_attention<T><<<static_cast<unsigned>(blocks), queries_per_block * 32, smem, stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<T*>(o), t, d,
      causal ? 1 : 0, tau, query_blocks);
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_stream_attention(const void* q, const void* k, const void* v, void* o, dtype type, std::int64_t heads,
                             int t, int d, bool causal, float tau, cudaStream_t stream) {
  if (heads <= 0 || t <= 0) return;
  if (d <= 0 || d > max_head_dim) throw std::invalid_argument("dense_stream: head_dim must be in 1..256 on CUDA");
  switch (type) {
    case dtype::fp32: launch_typed<float>(q, k, v, o, heads, t, d, causal, tau, stream); break;
    case dtype::fp16: launch_typed<__half>(q, k, v, o, heads, t, d, causal, tau, stream); break;
    case dtype::bf16: launch_typed<__nv_bfloat16>(q, k, v, o, heads, t, d, causal, tau, stream); break;
  }
}

}  // namespace sb::dense_stream_cuda
