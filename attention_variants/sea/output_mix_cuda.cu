// SEA stage 5 on CUDA (output_mix_cuda.hpp).
#include "attention_variants/sea/output_mix_cuda.hpp"

#include <vector>

#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/sea_device.cuh"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"

namespace sb::sea::gpu {
namespace {

using cuda_detail::scan_chunk;
__host__ __device__ inline std::size_t sz(long long x) { return static_cast<std::size_t>(x); }

__global__ void query_mean_kernel(const float* ahat, long long cells, int te, int K, float* w) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;  // bh·K + b
  if (i >= cells) return;
  const long long bh = i / K;
  const int b = static_cast<int>(i % K);
  double sum = 0;
  for (int e = 0; e < te; ++e) sum += ahat[(bh * te + e) * K + b];
  w[i] = static_cast<float>(sum / te);
}

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/// Causal: the last pass of the blocked prefix sum of V, blending row j with the mean of v_0..v_j.
template <typename E>
__global__ void causal_mix_chunks(const E* v, const double* base, const float* gates, int T, int d, int te, int skip,
                                  E* out) {
  const int ch = blockIdx.x;
  const int j0 = ch * scan_chunk, j1 = min(T, j0 + scan_chunk);
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    double run = base[sz(ch) * d + c];
    for (int j = j0; j < j1; ++j) {
      run += cuda::to_f32(v[sz(j) * d + c]);
      const float g = sigmoid(gates[(j / skip) * 2 + 1]);
      const double inv = 1.0 / (j + 1);
      const float o = cuda::to_f32(out[sz(j) * d + c]);
      out[sz(j) * d + c] = cuda::from_f32<E>(g * o + (1.0f - g) * static_cast<float>(run * inv));
    }
  }
}

/// Non-causal: acc[c] += Σ_{j in chunk} w_{bin(j)}·v_j[c] (fp64 atomics; acc zeroed first).
template <typename E>
__global__ void weighted_chunk_sums(const E* v, const float* w, const int* bounds, int T, int d, int K, double* acc) {
  __shared__ int s_bin;
  const int ch = blockIdx.x;
  const int j0 = ch * scan_chunk, j1 = min(T, j0 + scan_chunk);
  if (threadIdx.x == 0) {
    int lo = 0, hi = K;
    while (hi - lo > 1) {
      const int mid = (lo + hi) / 2;
      if (bounds[mid] <= j0) lo = mid;
      else hi = mid;
    }
    s_bin = lo;
  }
  __syncthreads();
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    double sum = 0;
    int bin = s_bin;
    for (int j = j0; j < j1; ++j) {
      while (bounds[bin + 1] <= j) ++bin;
      sum += static_cast<double>(w[bin]) * cuda::to_f32(v[sz(j) * d + c]);
    }
    atomicAdd(&acc[c], sum);
  }
}

template <typename E>
__global__ void full_mix_rows(const double* acc, const float* w, const int* bounds, const float* gates, int T, int d,
                              int K, int te, int skip, E* out) {
  __shared__ double s_norm;
  if (threadIdx.x == 0) {
    double norm = 0;
    for (int b = 0; b < K; ++b) norm += static_cast<double>(w[b]) * (bounds[b + 1] - bounds[b]);
    s_norm = norm;
  }
  __syncthreads();
  const int t = blockIdx.x;
  const float g = sigmoid(gates[(t / skip) * 2 + 1]);
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    const double avg = s_norm > 0 ? acc[c] / s_norm : acc[c];
    const float o = cuda::to_f32(out[sz(t) * d + c]);
    out[sz(t) * d + c] = cuda::from_f32<E>(g * o + (1.0f - g) * static_cast<float>(avg));
  }
}

}  // namespace

void query_mean(const problem& p, const config& c, const float* ahat, float* w, cudaStream_t stream) {
  const long long cells = static_cast<long long>(p.batch) * p.heads * c.K;
  query_mean_kernel<<<static_cast<unsigned>((cells + 255) / 256), 256, 0, stream>>>(
      ahat, cells, c.estimator_rows(p.seq_len), c.K, w);
  SB_CUDA_CHECK_LAUNCH();
}

void output_mix(const problem& p, const config& c, const void* v, const float* gates, const float* mean_ahat,
                void* out, cudaStream_t stream) {
  const int T = p.seq_len, d = p.head_dim, K = c.K, te = c.estimator_rows(T);
  const std::size_t heads = sz(p.batch) * p.heads, head_elems = sz(T) * d;
  const int chunks = (T + scan_chunk - 1) / scan_chunk;
  const int threads = cuda_detail::threads_for(d, 256);
  cuda_detail::dispatch_dtype(p.type, [&](auto tag) {
    using E = typename decltype(tag)::type;
    const E* ve = static_cast<const E*>(v);
    E* oe = static_cast<E*>(out);
    if (p.causal) {
      cuda::device_buffer<double> csum(sz(chunks) * d, stream);
      for (std::size_t bh = 0; bh < heads; ++bh) {
        cuda_detail::chunk_sums<E><<<chunks, threads, 0, stream>>>(ve + bh * head_elems, T, d, csum.data());
        SB_CUDA_CHECK_LAUNCH();
        cuda_detail::chunk_bases<double><<<(d + 127) / 128, 128, 0, stream>>>(csum.data(), chunks, d);
        SB_CUDA_CHECK_LAUNCH();
        causal_mix_chunks<E><<<chunks, threads, 0, stream>>>(ve + bh * head_elems, csum.data(), gates + bh * te * 2,
                                                             T, d, te, c.query_skip, oe + bh * head_elems);
        SB_CUDA_CHECK_LAUNCH();
      }
      return;
    }
    std::vector<int> host_bounds(sz(K) + 1);
    row_bounds(c.upsample, T, K, host_bounds.data());
    cuda::device_buffer<int> bounds(host_bounds.size(), stream);
    SB_CUDA_CHECK(cudaMemcpyAsync(bounds.data(), host_bounds.data(), host_bounds.size() * sizeof(int),
                                  cudaMemcpyHostToDevice, stream));
    cuda::device_buffer<double> acc(sz(d), stream);
    for (std::size_t bh = 0; bh < heads; ++bh) {
      SB_CUDA_CHECK(cudaMemsetAsync(acc.data(), 0, sz(d) * sizeof(double), stream));
      weighted_chunk_sums<E><<<chunks, threads, 0, stream>>>(ve + bh * head_elems, mean_ahat + bh * K, bounds.data(),
                                                             T, d, K, acc.data());
      SB_CUDA_CHECK_LAUNCH();
      full_mix_rows<E><<<T, threads, 0, stream>>>(acc.data(), mean_ahat + bh * K, bounds.data(), gates + bh * te * 2,
                                                  T, d, K, te, c.query_skip, oe + bh * head_elems);
      SB_CUDA_CHECK_LAUNCH();
    }
  });
}

}  // namespace sb::sea::gpu
