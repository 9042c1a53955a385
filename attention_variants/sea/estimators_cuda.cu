// SEA stage 1 on CUDA (estimators_cuda.hpp): oracle, pooled and performer_hist.
#include "attention_variants/sea/estimators_cuda.hpp"

#include <cub/device/device_scan.cuh>

#include <algorithm>
#include <cmath>
#include <vector>

#include "attention_variants/performer/favor.hpp"
#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/estimators.hpp"
#include "attention_variants/sea/sea_device.cuh"
#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"

namespace sb::sea::gpu {
namespace {

using cuda_detail::block_reduce;
using cuda_detail::dispatch_dtype;

constexpr int row_threads = 128;
constexpr int max_head_dim = 1024;
constexpr int max_hist_fine_bins = 8192;   // fine histogram of one row in shared memory (32 KiB)
constexpr std::size_t max_dynamic_shared = 48 << 10;  // without opting in to more
// The 48 KiB default is per block, static and dynamic together: the hist row kernels' fred[32] and dred[32].
constexpr std::size_t hist_static_shared = 32 * sizeof(float) + 32 * sizeof(double);
constexpr int max_shared_K = 2048;         // oracle: bounds + fp64 masses in shared memory; pooled causal: K+1 fp64

__host__ __device__ inline std::size_t sz(long long x) { return static_cast<std::size_t>(x); }
unsigned blocks_for(long long n, int per_block) { return static_cast<unsigned>((n + per_block - 1) / per_block); }

/// A device copy of a host array, from the pool on the context's stream (copied on that stream, which is
/// then synchronised: set-up only).
template <typename T>
cuda::device_buffer<T> upload_sync(const std::vector<T>& host) {
  const cudaStream_t stream = cuda::context::instance().stream();
  cuda::device_buffer<T> d(host.size(), stream);
  SB_CUDA_CHECK(cudaMemcpyAsync(d.data(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice, stream));
  SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  return d;
}

/// Normalise a row of K values in place so it sums to 1 (fp64 sum; rows summing to 0 stay 0), as the
/// CPU's normalise() and the tail of softmax_row().
__device__ void normalise_row(float* row, int K, double* red) {
  double sum = 0;
  for (int b = threadIdx.x; b < K; b += blockDim.x) sum += row[b];
  sum = block_reduce(sum, red, false);
  if (sum > 0) {
    const float inv = static_cast<float>(1.0 / sum);
    for (int b = threadIdx.x; b < K; b += blockDim.x) row[b] *= inv;
  }
}

/// Softmax of a row of K logits in place (−inf → 0), as softmax_row() on the CPU.
__device__ void softmax_row_device(float* row, int K, float* fred, double* dred) {
  float mx = -INFINITY;
  for (int b = threadIdx.x; b < K; b += blockDim.x) mx = fmaxf(mx, row[b]);
  mx = block_reduce(mx, fred, true);
  double sum = 0;
  for (int b = threadIdx.x; b < K; b += blockDim.x) {
    const float e = row[b] == -INFINITY ? 0.0f : expf(row[b] - mx);
    row[b] = e;
    sum += e;
  }
  sum = block_reduce(sum, dred, false);
  const float inv = static_cast<float>(1.0 / sum);
  __syncthreads();
  for (int b = threadIdx.x; b < K; b += blockDim.x) row[b] *= inv;
}

/// Load row x (d elements of E) into shared fp32 xs.
template <typename E>
__device__ void load_row(const E* x, int d, float* xs) {
  for (int c = threadIdx.x; c < d; c += blockDim.x) xs[c] = cuda::to_f32(x[c]);
  __syncthreads();
}

// ---------------------------------------------------------------------------------------------------
// oracle
// ---------------------------------------------------------------------------------------------------

template <typename E>
__global__ void __launch_bounds__(row_threads)
    oracle_rows_kernel(const E* q, const E* k, int T, int d, int K, int skip, int causal, upsample_mode mode,
                       float tau, float* ahat) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  unsigned char* smem = smem_raw;
  double* mass = reinterpret_cast<double*>(smem);                  // [K]
  int* bounds = reinterpret_cast<int*>(mass + K);                  // [K+1]
  float* qs = reinterpret_cast<float*>(bounds + K + 1);            // [d]
  __shared__ float fred[32];
  __shared__ double dred[32];
  const int e = blockIdx.x, t = e * skip;
  const long long bh = blockIdx.y;
  const E* qh = q + (bh * T + t) * d;
  const E* kh = k + bh * T * d;
  const int L = visible_keys(causal != 0, T, t);
  for (int b = threadIdx.x; b <= K; b += blockDim.x) bounds[b] = bin_start(mode, L, K, b);
  for (int b = threadIdx.x; b < K; b += blockDim.x) mass[b] = 0;
  load_row(qh, d, qs);
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < L; j += blockDim.x) mx = fmaxf(mx, tau * cuda_detail::dot_row(kh + sz(j) * d, qs, d));
  mx = block_reduce(mx, fred, true);
  double sum = 0;
  for (int j = threadIdx.x; j < L; j += blockDim.x) {
    const float p = expf(tau * cuda_detail::dot_row(kh + sz(j) * d, qs, d) - mx);
    sum += p;
    int lo = 0, hi = K;  // the bin b with bounds[b] <= j < bounds[b+1]
    while (hi - lo > 1) {
      const int mid = (lo + hi) / 2;
      if (bounds[mid] <= j) lo = mid;
      else hi = mid;
    }
    atomicAdd(&mass[lo], static_cast<double>(p));
  }
  sum = block_reduce(sum, dred, false);
  const double inv = 1.0 / sum;
  float* row = ahat + (bh * gridDim.x + e) * K;
  for (int b = threadIdx.x; b < K; b += blockDim.x) row[b] = static_cast<float>(mass[b] * inv);
}

class oracle_estimator final : public estimator {
 public:
  oracle_estimator(const problem& p, const config& c) : m_p(p), m_c(c) {
    if (c.K > max_shared_K)
      throw unsupported_case("sea on CUDA: estimator=oracle takes K <= " + std::to_string(max_shared_K));
  }
  void estimate(const void* q, const void* k, float* ahat, cudaStream_t stream) override {
    const dim3 grid(m_c.estimator_rows(m_p.seq_len), m_p.batch * m_p.heads);
    const std::size_t shared = sz(m_c.K) * sizeof(double) + (sz(m_c.K) + 1) * sizeof(int) + sz(m_p.head_dim) * 4;
    dispatch_dtype(m_p.type, [&](auto tag) {
      using E = typename decltype(tag)::type;
      oracle_rows_kernel<E><<<grid, row_threads, shared, stream>>>(
          static_cast<const E*>(q), static_cast<const E*>(k), m_p.seq_len, m_p.head_dim, m_c.K, m_c.query_skip,
          m_p.causal ? 1 : 0, m_c.upsample, static_cast<float>(m_p.scale()), ahat);
    });
    SB_CUDA_CHECK_LAUNCH();
  }

 private:
  problem m_p;
  config m_c;
};

// ---------------------------------------------------------------------------------------------------
// pooled
// ---------------------------------------------------------------------------------------------------

/// Column sums over a bin's rows, spread over the block: warp w takes rows lo+w, lo+w+8, ..., lane l
/// column c0+l; fp64 partial sums reduced across the warps in a fixed order (deterministic).
constexpr int sum_warps = 8;
template <typename E, typename Out>
__device__ void bin_column_sums(const E* x, int lo, int hi, int width, double scale, Out* out) {
  __shared__ double part[sum_warps][32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
  for (int c0 = 0; c0 < width; c0 += 32) {
    const int c = c0 + lane;
    double acc = 0;
    if (c < width)
      for (int j = lo + warp; j < hi; j += sum_warps) acc += cuda::to_f32(x[sz(j) * width + c]);
    part[warp][lane] = acc;
    __syncthreads();
    if (warp == 0 && c < width) {
      double total = 0;
      for (int w = 0; w < sum_warps; ++w) total += part[w][lane];
      out[c] = static_cast<Out>(total * scale);
    }
    __syncthreads();
  }
}

/// pooled[b·d + c] = mean of k[j][c] over bin b's keys (fp64 sums), 0 for an empty bin. Block per bin.
template <typename E>
__global__ void __launch_bounds__(sum_warps * 32) pool_bins(const E* k, const int* bounds, int d, float* pooled) {
  const int b = blockIdx.x;
  const int lo = bounds[b], hi = bounds[b + 1];
  bin_column_sums(k, lo, hi, d, hi > lo ? 1.0 / (hi - lo) : 0.0, pooled + sz(b) * d);
}

template <typename E>
__global__ void __launch_bounds__(row_threads)
    pooled_full_rows(const E* q, const float* pooled, const int* bounds, int T, int d, int K, int skip, float tau,
                     int mass_term, float* ahat) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  float* qs = reinterpret_cast<float*>(smem_raw);
  __shared__ float fred[32];
  __shared__ double dred[32];
  const int e = blockIdx.x;
  load_row(q + sz(e) * skip * d, d, qs);
  float* row = ahat + sz(e) * K;
  for (int b = threadIdx.x; b < K; b += blockDim.x) {
    const int n = bounds[b + 1] - bounds[b];
    float score = tau * cuda_detail::dot_row(pooled + sz(b) * d, qs, d);
    if (n == 0) score = -INFINITY;
    else if (mass_term) score += static_cast<float>(log(static_cast<double>(n)));
    row[b] = score;
  }
  __syncthreads();
  softmax_row_device(row, K, fred, dred);
}

template <typename E>
__global__ void __launch_bounds__(row_threads)
    pooled_causal_rows(const E* q, const double* S, int T, int d, int K, int skip, upsample_mode mode, double tau,
                       int mass_term, float* ahat) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  unsigned char* smem = smem_raw;
  double* qsum = reinterpret_cast<double*>(smem);  // [K+1]: q·S[bound_b]
  float* qs = reinterpret_cast<float*>(qsum + K + 1);
  __shared__ float fred[32];
  __shared__ double dred[32];
  const int e = blockIdx.x, t = e * skip, L = t + 1;
  load_row(q + sz(t) * d, d, qs);
  for (int b = threadIdx.x; b <= K; b += blockDim.x) {
    const double* s = S + sz(bin_start(mode, L, K, b)) * d;
    double acc = 0;
    for (int c = 0; c < d; ++c) acc += static_cast<double>(qs[c]) * s[c];
    qsum[b] = acc;
  }
  __syncthreads();
  float* row = ahat + sz(e) * K;
  for (int b = threadIdx.x; b < K; b += blockDim.x) {
    const int n = bin_start(mode, L, K, b + 1) - bin_start(mode, L, K, b);
    if (n == 0) {
      row[b] = -INFINITY;
      continue;
    }
    double score = tau * (qsum[b + 1] - qsum[b]) / n;
    if (mass_term) score += log(static_cast<double>(n));
    row[b] = static_cast<float>(score);
  }
  __syncthreads();
  softmax_row_device(row, K, fred, dred);
}

class pooled_estimator final : public estimator {
 public:
  pooled_estimator(const problem& p, const config& c) : m_p(p), m_c(c) {
    if (p.head_dim > max_head_dim) throw unsupported_case("sea on CUDA: head_dim above 1024");
    if (p.causal && c.K > max_shared_K)
      throw unsupported_case("sea on CUDA: causal estimator=pooled takes K <= " + std::to_string(max_shared_K));
    if (!p.causal) {
      std::vector<int> bounds(sz(c.K) + 1);
      row_bounds(c.upsample, p.seq_len, c.K, bounds.data());
      m_bounds = upload_sync(bounds);
    }
  }
  void estimate(const void* q, const void* k, float* ahat, cudaStream_t stream) override {
    const int T = m_p.seq_len, d = m_p.head_dim, K = m_c.K, te = m_c.estimator_rows(T);
    const std::size_t heads = sz(m_p.batch) * m_p.heads, elem = dtype_bytes(m_p.type);
    const int threads = cuda_detail::threads_for(d, 256);
    dispatch_dtype(m_p.type, [&](auto tag) {
      using E = typename decltype(tag)::type;
      const E* qe = static_cast<const E*>(q);
      const E* ke = static_cast<const E*>(k);
      if (!m_p.causal) {
        cuda::device_buffer<float> pooled(sz(K) * d, stream);
        for (std::size_t bh = 0; bh < heads; ++bh) {
          pool_bins<E><<<K, sum_warps * 32, 0, stream>>>(ke + bh * T * d, m_bounds.data(), d, pooled.data());
          SB_CUDA_CHECK_LAUNCH();
          pooled_full_rows<E><<<te, row_threads, sz(d) * sizeof(float), stream>>>(
              qe + bh * T * d, pooled.data(), m_bounds.data(), T, d, K, m_c.query_skip,
              static_cast<float>(m_p.scale()), m_c.pooled_mass_term ? 1 : 0, ahat + bh * te * K);
          SB_CUDA_CHECK_LAUNCH();
        }
        return;
      }
      const int chunks = (T + cuda_detail::scan_chunk - 1) / cuda_detail::scan_chunk;
      cuda::device_buffer<double> S((sz(T) + 1) * d, stream);
      cuda::device_buffer<double> csum(sz(chunks) * d, stream);
      const std::size_t shared = (sz(K) + 1) * sizeof(double) + sz(d) * sizeof(float);
      for (std::size_t bh = 0; bh < heads; ++bh) {
        const E* kh = ke + bh * T * d;
        cuda_detail::chunk_sums<E><<<chunks, threads, 0, stream>>>(kh, T, d, csum.data());
        SB_CUDA_CHECK_LAUNCH();
        cuda_detail::chunk_bases<double><<<blocks_for(d, 128), 128, 0, stream>>>(csum.data(), chunks, d);
        SB_CUDA_CHECK_LAUNCH();
        cuda_detail::chunk_prefix<E><<<chunks, threads, 0, stream>>>(kh, csum.data(), T, d, S.data());
        SB_CUDA_CHECK_LAUNCH();
        pooled_causal_rows<E><<<te, row_threads, shared, stream>>>(qe + bh * T * d, S.data(), T, d, K,
                                                                   m_c.query_skip, m_c.upsample, m_p.scale(),
                                                                   m_c.pooled_mass_term ? 1 : 0, ahat + bh * te * K);
        SB_CUDA_CHECK_LAUNCH();
      }
      (void)elem;
    });
  }

 private:
  problem m_p;
  config m_c;
  cuda::device_buffer<int> m_bounds;  // non-causal: the bins of L = T
};

// ---------------------------------------------------------------------------------------------------
// performer_hist
// ---------------------------------------------------------------------------------------------------

/// a[i·m + f] = s·(w_f·x_i) − (s²/2)·‖x_i‖² for rows x_i = x[(i·stride)·d ...], i < n (favor's
/// softmax_exponents). 8 rows per block, staged in shared memory as fp32.
constexpr int exp_rows = 8;
template <typename E>
__global__ void exponents_kernel(const E* x, int n, int stride, int d, const float* W, int m, float s, float* a) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  float* xs = reinterpret_cast<float*>(smem_raw);  // [exp_rows, d]
  __shared__ float sq[exp_rows];
  const long long i0 = static_cast<long long>(blockIdx.x) * exp_rows;
  const int rows = static_cast<int>(min(static_cast<long long>(exp_rows), n - i0));
  for (int idx = threadIdx.x; idx < rows * d; idx += blockDim.x) {
    const int r = idx / d, c = idx % d;
    xs[idx] = cuda::to_f32(x[((i0 + r) * stride) * d + c]);
  }
  __syncthreads();
  if (threadIdx.x < rows) {
    float acc = 0;
    for (int c = 0; c < d; ++c) acc += xs[threadIdx.x * d + c] * xs[threadIdx.x * d + c];
    sq[threadIdx.x] = acc;
  }
  __syncthreads();
  const float half_s2 = 0.5f * s * s;
  for (int idx = threadIdx.x; idx < rows * m; idx += blockDim.x) {
    const int r = idx / m, f = idx % m;
    const float* w = W + sz(f) * d;
    float acc = 0;
    for (int c = 0; c < d; ++c) acc = fmaf(__ldg(w + c), xs[r * d + c], acc);
    a[(i0 + r) * m + f] = s * acc - half_s2 * sq[r];
  }
}

__device__ __forceinline__ unsigned ordered_bits(float v) {
  const unsigned u = __float_as_uint(v);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float from_ordered_bits(unsigned u) {
  return __uint_as_float((u & 0x80000000u) ? (u & 0x7FFFFFFFu) : ~u);
}

/// *out = max(*out, max of a[0..n)) as ordered bits (*out starts at 0, below every float).
__global__ void max_kernel(const float* a, long long n, unsigned* out) {
  __shared__ float red[32];
  float mx = -INFINITY;
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x)
    mx = fmaxf(mx, a[i]);
  mx = block_reduce(mx, red, true);
  if (threadIdx.x == 0) atomicMax(out, ordered_bits(mx));
}

/// Row maxima of a [n, m].
__global__ void row_max_kernel(const float* a, int n, int m, float* out) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float mx = -INFINITY;
  for (int f = 0; f < m; ++f) mx = fmaxf(mx, a[sz(i) * m + f]);
  out[i] = mx;
}

struct max_op {
  __device__ float operator()(float x, float y) const { return fmaxf(x, y); }
};

/// Key features in place: a[j·m + f] ← ratio·(exp(a − ref_j) + eps), ref_j = stab[j] (causal: the running
/// maximum) or *global (non-causal: ordered bits of the head's maximum).
__global__ void key_features_kernel(float* a, int n, int m, const float* stab, const unsigned* global, float ratio,
                                    float eps) {
  const long long idx = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<long long>(n) * m) return;
  const float ref = stab ? stab[idx / m] : from_ordered_bits(*global);
  a[idx] = ratio * (expf(a[idx] - ref) + eps);
}

/// Non-causal: U[b·m + f] = Σ_{j ∈ bin b} φk_j[f] (fp64 sum). Block per bin.
__global__ void __launch_bounds__(sum_warps * 32) bin_feature_sums(const float* phi, const int* bounds, int m, float* U) {
  const int b = blockIdx.x;
  bin_column_sums(phi, bounds[b], bounds[b + 1], m, 1.0, U + sz(b) * m);
}

/// Causal: per fine bin fb and feature f, the scan P_j = e^{r_{j−1} − r_j}·P_{j−1} + φk_j[f] over the bin's
/// keys (relative to r_j); P at every estimator row j = e·skip goes to Pq[e·m + f], P at the bin's last key
/// to U[fb·m + f] (relative to r of that key).
__global__ void fine_bin_scan(const float* phi, const float* r, int T, int F, int m, int skip, float* Pq, float* U) {
  const int fb = blockIdx.x;
  const int start = static_cast<int>((static_cast<long long>(fb) * T + F - 1) / F);
  const int end = static_cast<int>((static_cast<long long>(fb + 1) * T + F - 1) / F);
  for (int f = threadIdx.x; f < m; f += blockDim.x) {
    float P = 0;
    for (int j = start; j < end; ++j) {
      if (j > start) P *= expf(r[j - 1] - r[j]);
      P += phi[sz(j) * m + f];
      if (j % skip == 0) Pq[sz(j / skip) * m + f] = P;
    }
    U[sz(fb) * m + f] = P;
  }
}

/// φq of row x into shared phi [m] (per-row stabiliser c = max_f a_f, favor's softmax_query_features).
template <typename E>
__device__ void query_features(const E* x, int d, const float* W, int m, float s, float ratio, float eps, float* xs,
                               float* phi, float* fred) {
  load_row(x, d, xs);
  float sq = 0;
  for (int c = 0; c < d; ++c) sq += xs[c] * xs[c];
  const float half_s2 = 0.5f * s * s;
  float mx = -INFINITY;
  for (int f = threadIdx.x; f < m; f += blockDim.x) {
    const float* w = W + sz(f) * d;
    float acc = 0;
    for (int c = 0; c < d; ++c) acc = fmaf(__ldg(w + c), xs[c], acc);
    phi[f] = s * acc - half_s2 * sq;
    mx = fmaxf(mx, phi[f]);
  }
  mx = block_reduce(mx, fred, true);
  for (int f = threadIdx.x; f < m; f += blockDim.x) phi[f] = ratio * (expf(phi[f] - mx) + eps);
  __syncthreads();
}

struct hist_args {
  const float* W;
  int T, d, m, K, skip;
  float s, ratio, eps;
  upsample_mode mode;
};

template <typename E>
__global__ void __launch_bounds__(row_threads) hist_full_rows(const E* q, const float* U, hist_args h, float* ahat) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  float* smem = reinterpret_cast<float*>(smem_raw);
  float* xs = smem;         // [d]
  float* phi = xs + h.d;    // [m]
  __shared__ float fred[32];
  __shared__ double dred[32];
  const int e = blockIdx.x;
  query_features(q + sz(e) * h.skip * h.d, h.d, h.W, h.m, h.s, h.ratio, h.eps, xs, phi, fred);
  float* row = ahat + sz(e) * h.K;
  for (int b = threadIdx.x; b < h.K; b += blockDim.x) {
    const float* u = U + sz(b) * h.m;
    float acc = 0;
    for (int f = 0; f < h.m; ++f) acc = fmaf(phi[f], u[f], acc);
    row[b] = acc;
  }
  __syncthreads();
  normalise_row(row, h.K, dred);
}

template <typename E>
__global__ void __launch_bounds__(row_threads)
    hist_causal_rows(const E* q, const float* U, const float* Pq, const float* r, int F, hist_args h, float* ahat) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  float* smem = reinterpret_cast<float*>(smem_raw);
  float* xs = smem;          // [d]
  float* phi = xs + h.d;     // [m]
  float* fine = phi + h.m;   // [F]
  __shared__ float fred[32];
  __shared__ double dred[32];
  const int e = blockIdx.x, t = e * h.skip, L = t + 1, T = h.T;
  query_features(q + sz(t) * h.d, h.d, h.W, h.m, h.s, h.ratio, h.eps, xs, phi, fred);
  auto fine_start = [&](int f) { return static_cast<int>((static_cast<long long>(f) * T + F - 1) / F); };
  const int own = static_cast<int>(static_cast<long long>(t) * F / T);  // fine bin of key t
  const float rt = r[t];
  for (int fb = threadIdx.x; fb < F; fb += blockDim.x) {
    float v = 0;
    if (fb <= own) {
      const float* u = fb < own ? U + sz(fb) * h.m : Pq + sz(e) * h.m;
      float acc = 0;
      for (int f = 0; f < h.m; ++f) acc = fmaf(phi[f], u[f], acc);
      v = fb < own ? acc * expf(r[fine_start(fb + 1) - 1] - rt) : acc;
    }
    fine[fb] = v;
  }
  __syncthreads();
  // Area resampling onto row t's own K bins, piece by piece in key order (the CPU's resample()).
  float* row = ahat + sz(e) * h.K;
  for (int b = threadIdx.x; b < h.K; b += blockDim.x) {
    const int lo = bin_start(h.mode, L, h.K, b), hi = bin_start(h.mode, L, h.K, b + 1);
    float acc = 0;
    int pos = lo;
    while (pos < hi) {
      const int f = static_cast<int>(static_cast<long long>(pos) * F / T);
      const int f_end = min(fine_start(f + 1), L);
      const int next = min(f_end, hi);
      const double density = static_cast<double>(fine[f]) / (f_end - fine_start(f));
      acc += static_cast<float>(density * (next - pos));
      pos = next;
    }
    row[b] = acc;
  }
  __syncthreads();
  normalise_row(row, h.K, dred);
}

class hist_estimator final : public estimator {
 public:
  hist_estimator(const problem& p, const config& c) : m_p(p), m_c(c) {
    if (p.head_dim > max_head_dim) throw unsupported_case("sea on CUDA: head_dim above 1024");
    const favor::projection w = favor::draw_projection(p.seed, performer_features(p.head_dim, c.nbf), p.head_dim);
    m_m = w.m;
    const std::size_t row_shared = (sz(p.head_dim) + w.m + (p.causal ? hist_fine_bins(p.seq_len, c.K) : 0)) * 4;
    if (row_shared + hist_static_shared > max_dynamic_shared)
      throw unsupported_case("sea on CUDA: performer_hist with head_dim + features (+ fine bins) above 12192 floats");
    m_W = upload_sync(w.w);
    if (p.causal) {
      m_F = hist_fine_bins(p.seq_len, c.K);
      if (m_F > max_hist_fine_bins)
        throw unsupported_case("sea on CUDA: causal performer_hist takes at most " +
                               std::to_string(max_hist_fine_bins) + " fine bins (K <= 2048)");
    } else {
      std::vector<int> bounds(sz(c.K) + 1);
      row_bounds(c.upsample, p.seq_len, c.K, bounds.data());
      m_bounds = upload_sync(bounds);
    }
  }

  void estimate(const void* q, const void* k, float* ahat, cudaStream_t stream) override {
    const int T = m_p.seq_len, d = m_p.head_dim, K = m_c.K, te = m_c.estimator_rows(T), m = m_m;
    const std::size_t heads = sz(m_p.batch) * m_p.heads;
    const float eps = favor::default_eps(favor::kernel_kind::softmax);
    const hist_args h{m_W.data(), T, d, m, K, m_c.query_skip,
                      static_cast<float>(std::pow(static_cast<double>(d), -0.25)),
                      1.0f / std::sqrt(static_cast<float>(m)), eps, m_c.upsample};
    cuda::device_buffer<float> a(sz(T) * m, stream);  // key exponents, then key features
    const long long am = static_cast<long long>(T) * m;
    dispatch_dtype(m_p.type, [&](auto tag) {
      using E = typename decltype(tag)::type;
      const E* qe = static_cast<const E*>(q);
      const E* ke = static_cast<const E*>(k);
      if (!m_p.causal) {
        cuda::device_buffer<unsigned> kmax(1, stream);
        cuda::device_buffer<float> U(sz(K) * m, stream);
        for (std::size_t bh = 0; bh < heads; ++bh) {
          exponents_kernel<E><<<blocks_for(T, exp_rows), 256, sz(exp_rows) * d * sizeof(float), stream>>>(
              ke + bh * T * d, T, 1, d, h.W, m, h.s, a.data());
          SB_CUDA_CHECK_LAUNCH();
          SB_CUDA_CHECK(cudaMemsetAsync(kmax.data(), 0, sizeof(unsigned), stream));
          max_kernel<<<static_cast<unsigned>(std::min<long long>(1024, (am + 255) / 256)), 256, 0, stream>>>(
              a.data(), am, kmax.data());
          SB_CUDA_CHECK_LAUNCH();
          key_features_kernel<<<blocks_for(am, 256), 256, 0, stream>>>(a.data(), T, m, nullptr, kmax.data(),
                                                                      h.ratio, eps);
          SB_CUDA_CHECK_LAUNCH();
          bin_feature_sums<<<K, sum_warps * 32, 0, stream>>>(a.data(), m_bounds.data(), m, U.data());
          SB_CUDA_CHECK_LAUNCH();
          hist_full_rows<E><<<te, row_threads, (sz(d) + m) * sizeof(float), stream>>>(qe + bh * T * d, U.data(), h,
                                                                                      ahat + bh * te * K);
          SB_CUDA_CHECK_LAUNCH();
        }
        return;
      }
      const int F = m_F;
      cuda::device_buffer<float> rowmax(sz(T), stream), running(sz(T), stream);
      cuda::device_buffer<float> U(sz(F) * m, stream), Pq(sz(te) * m, stream);
      std::size_t scan_bytes = 0;
      SB_CUDA_CHECK(cub::DeviceScan::InclusiveScan(nullptr, scan_bytes, rowmax.data(), running.data(), max_op{}, T));
      cuda::device_buffer<std::uint8_t> scan_tmp(scan_bytes > 0 ? scan_bytes : 1, stream);
      for (std::size_t bh = 0; bh < heads; ++bh) {
        exponents_kernel<E><<<blocks_for(T, exp_rows), 256, sz(exp_rows) * d * sizeof(float), stream>>>(
            ke + bh * T * d, T, 1, d, h.W, m, h.s, a.data());
        SB_CUDA_CHECK_LAUNCH();
        row_max_kernel<<<blocks_for(T, 256), 256, 0, stream>>>(a.data(), T, m, rowmax.data());
        SB_CUDA_CHECK_LAUNCH();
        SB_CUDA_CHECK(cub::DeviceScan::InclusiveScan(scan_tmp.data(), scan_bytes, rowmax.data(), running.data(),
                                                     max_op{}, T, stream));
        key_features_kernel<<<blocks_for(am, 256), 256, 0, stream>>>(a.data(), T, m, running.data(), nullptr,
                                                                    h.ratio, eps);
        SB_CUDA_CHECK_LAUNCH();
        fine_bin_scan<<<F, cuda_detail::threads_for(m, 256), 0, stream>>>(a.data(), running.data(), T, F, m,
                                                                         m_c.query_skip, Pq.data(), U.data());
        SB_CUDA_CHECK_LAUNCH();
        hist_causal_rows<E><<<te, row_threads, (sz(d) + m + F) * sizeof(float), stream>>>(
            qe + bh * T * d, U.data(), Pq.data(), running.data(), F, h, ahat + bh * te * K);
        SB_CUDA_CHECK_LAUNCH();
      }
    });
  }


 private:
  problem m_p;
  config m_c;
  int m_m = 0, m_F = 0;
  cuda::device_buffer<float> m_W;     // [m, d], drawn as on the CPU
  cuda::device_buffer<int> m_bounds;  // non-causal: the bins of L = T
};

}  // namespace

std::size_t estimator_scratch_bytes(const problem& p, const config& c) {
  const std::size_t T = p.seq_len, d = p.head_dim, K = c.K, te = c.estimator_rows(p.seq_len);
  switch (c.estimator) {
    case estimator_kind::oracle: return 0;
    case estimator_kind::pooled: {
      if (!p.causal) return K * d * sizeof(float);
      const std::size_t chunks = (T + cuda_detail::scan_chunk - 1) / cuda_detail::scan_chunk;
      return (T + 1) * d * sizeof(double) + chunks * d * sizeof(double);
    }
    case estimator_kind::performer_hist: {
      const std::size_t m = performer_features(p.head_dim, c.nbf);
      if (!p.causal) return T * m * sizeof(float) + sizeof(unsigned) + K * m * sizeof(float);
      const std::size_t F = hist_fine_bins(p.seq_len, c.K);
      // + cub's max-scan scratch: a few bytes per tile of items, bounded here by 64 KiB.
      return T * m * sizeof(float) + 2 * T * sizeof(float) + (F + te) * m * sizeof(float) + (std::size_t{64} << 10);
    }
    case estimator_kind::performer: return 0;
  }
  return 0;
}

std::unique_ptr<estimator> make_estimator(const problem& p, const config& c) {
  switch (c.estimator) {
    case estimator_kind::oracle: return std::make_unique<oracle_estimator>(p, c);
    case estimator_kind::pooled: return std::make_unique<pooled_estimator>(p, c);
    case estimator_kind::performer_hist: return std::make_unique<hist_estimator>(p, c);
    case estimator_kind::performer: break;
  }
  throw unsupported_case("sea on CUDA: estimator=performer (Performer + encoder + CNN) runs on the CPU only; "
                         "use performer_hist, pooled or oracle on the GPU");
}

}  // namespace sb::sea::gpu
