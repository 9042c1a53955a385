// The OPT forward pass on CUDA: embedding, LayerNorm, bias (+ ReLU), head split/merge, the causal
// softmax of exact attention and the per-token loss; the GEMMs around them are cuBLAS calls in
// opt_forward_cuda.cpp. Row kernels use one thread block per row with warp-shuffle reductions.
#include "harness/model/opt_kernels.hpp"

#include <cuda_runtime.h>

#include <cmath>

#include "harness/cuda/cuda_error.hpp"

namespace sb::model::cuda_kernels {
namespace {

constexpr int row_threads = 256;  // a multiple of 32, at most 1024
constexpr int elementwise_threads = 256;

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// Block-wide max (is_max) or sum; every thread gets the result. `red` holds one value per warp.
__device__ float block_reduce(float v, float* red, bool is_max) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = is_max ? warp_max(v) : warp_sum(v);
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = lane < warps ? red[lane] : (is_max ? -INFINITY : 0.0f);
  v = is_max ? warp_max(v) : warp_sum(v);
  __syncthreads();  // red is reused by the next reduction
  return v;
}

unsigned blocks_for(long long n) { return static_cast<unsigned>((n + elementwise_threads - 1) / elementwise_threads); }

__global__ void embed_kernel(const std::int32_t* ids, const float* tokens, const float* positions, int offset, int T,
                             int C, float* x) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long long>(T) * C) return;
  const int t = static_cast<int>(i / C), c = static_cast<int>(i % C);
  x[i] = tokens[static_cast<long long>(ids[t]) * C + c] + positions[static_cast<long long>(t + offset) * C + c];
}

__global__ void layer_norm_kernel(const float* x, const float* w, const float* b, float eps, int cols, float* out) {
  __shared__ float red[32];
  const float* xr = x + static_cast<long long>(blockIdx.x) * cols;
  float* o = out + static_cast<long long>(blockIdx.x) * cols;
  float s = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) s += xr[c];
  const float mean = block_reduce(s, red, false) / cols;
  float v = 0.0f;  // two passes: the variance of (x − mean), not E[x²] − mean², which cancels
  for (int c = threadIdx.x; c < cols; c += blockDim.x) v += (xr[c] - mean) * (xr[c] - mean);
  const float inv = rsqrtf(block_reduce(v, red, false) / cols + eps);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) o[c] = (xr[c] - mean) * inv * w[c] + b[c];
}

__global__ void add_bias_kernel(float* out, const float* bias, long long n, int cols, int relu) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float v = out[i] + bias[i % cols];
  out[i] = relu ? fmaxf(v, 0.0f) : v;
}

/// to_heads: [T, H·D] → [H, T, D]; otherwise the reverse. Thread i writes output element i.
__global__ void permute_heads_kernel(const float* x, int T, int H, int D, float* out, int to_heads) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long long>(T) * H * D) return;
  const int d = static_cast<int>(i % D);
  if (to_heads) {  // i = (h·T + t)·D + d
    const long long ht = i / D;
    const int t = static_cast<int>(ht % T), h = static_cast<int>(ht / T);
    out[i] = x[(static_cast<long long>(t) * H + h) * D + d];
  } else {  // i = (t·H + h)·D + d
    const long long th = i / D;
    const int h = static_cast<int>(th % H), t = static_cast<int>(th / H);
    out[i] = x[(static_cast<long long>(h) * T + t) * D + d];
  }
}

__global__ void causal_softmax_kernel(float* scores, int T) {
  __shared__ float red[32];
  const long long row = blockIdx.x;
  const int i = static_cast<int>(row % T);
  float* s = scores + row * T;
  const int visible = i + 1;
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < visible; j += blockDim.x) mx = fmaxf(mx, s[j]);
  mx = block_reduce(mx, red, true);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < visible; j += blockDim.x) sum += expf(s[j] - mx);
  const float inv = 1.0f / block_reduce(sum, red, false);  // sum ≥ 1: the maximum contributes exp(0)
  for (int j = threadIdx.x; j < T; j += blockDim.x) s[j] = j < visible ? expf(s[j] - mx) * inv : 0.0f;
}

__global__ void token_nll_kernel(const float* logits, const std::int32_t* targets, int vocab, float* nll) {
  __shared__ float red[32];
  const float* row = logits + static_cast<long long>(blockIdx.x) * vocab;
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x) mx = fmaxf(mx, row[j]);
  mx = block_reduce(mx, red, true);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x) sum += expf(row[j] - mx);
  sum = block_reduce(sum, red, false);
  if (threadIdx.x == 0) nll[blockIdx.x] = logf(sum) + mx - row[targets[blockIdx.x]];
}

}  // namespace

void embed(const std::int32_t* ids, const float* tokens, const float* positions, int position_offset, int T, int C,
           float* x, cudaStream_t stream) {
  const long long n = static_cast<long long>(T) * C;
  if (n == 0) return;
  embed_kernel<<<blocks_for(n), elementwise_threads, 0, stream>>>(ids, tokens, positions, position_offset, T, C, x);
  SB_CUDA_CHECK_LAUNCH();
}

void layer_norm(const float* x, const float* w, const float* b, float eps, int rows, int cols, float* out,
                cudaStream_t stream) {
  if (rows <= 0) return;
  layer_norm_kernel<<<rows, row_threads, 0, stream>>>(x, w, b, eps, cols, out);
  SB_CUDA_CHECK_LAUNCH();
}

void add_bias(float* out, const float* bias, int rows, int cols, bool relu, cudaStream_t stream) {
  const long long n = static_cast<long long>(rows) * cols;
  if (n == 0) return;
  add_bias_kernel<<<blocks_for(n), elementwise_threads, 0, stream>>>(out, bias, n, cols, relu ? 1 : 0);
  SB_CUDA_CHECK_LAUNCH();
}

void split_heads(const float* x, int T, int H, int D, float* out, cudaStream_t stream) {
  const long long n = static_cast<long long>(T) * H * D;
  if (n == 0) return;
  permute_heads_kernel<<<blocks_for(n), elementwise_threads, 0, stream>>>(x, T, H, D, out, 1);
  SB_CUDA_CHECK_LAUNCH();
}

void merge_heads(const float* x, int T, int H, int D, float* out, cudaStream_t stream) {
  const long long n = static_cast<long long>(T) * H * D;
  if (n == 0) return;
  permute_heads_kernel<<<blocks_for(n), elementwise_threads, 0, stream>>>(x, T, H, D, out, 0);
  SB_CUDA_CHECK_LAUNCH();
}

void causal_softmax_rows(float* scores, int heads, int T, cudaStream_t stream) {
  if (heads <= 0 || T <= 0) return;
  causal_softmax_kernel<<<static_cast<unsigned>(static_cast<long long>(heads) * T), row_threads, 0, stream>>>(scores, T);
  SB_CUDA_CHECK_LAUNCH();
}

void token_nll(const float* logits, const std::int32_t* targets, int rows, int vocab, float* nll, cudaStream_t stream) {
  if (rows <= 0) return;
  token_nll_kernel<<<rows, row_threads, 0, stream>>>(logits, targets, vocab, nll);
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::model::cuda_kernels
