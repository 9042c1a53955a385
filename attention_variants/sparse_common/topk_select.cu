// The oracles' per-row selection kernels (topk_select_cuda.hpp). One thread block per row (oracle_topk)
// or per (batch, query) (oracle_topk_grouped). The threshold is found by a most-significant-digit
// radix select on the order-preserving unsigned image of the values (−0 taken as +0, so equal values
// compare equal as on the CPU); every value above it is taken, and the values equal to it in the
// CPU's tie order until the budget is met, by an ordered block-wide compaction so each list comes out
// ascending.
#include "attention_variants/sparse_common/topk_select_cuda.hpp"

#include <cuda_runtime.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "harness/cuda/cuda_error.hpp"

namespace sb::sparse::cuda_kernels {
namespace {

constexpr int threads = 256;
constexpr int warps = threads / 32;

__device__ __forceinline__ unsigned ordered(float f) {
  const unsigned b = __float_as_uint(f == 0.0f ? 0.0f : f);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
__device__ __forceinline__ unsigned long long ordered(double f) {
  const auto b = static_cast<unsigned long long>(__double_as_longlong(f == 0.0 ? 0.0 : f));
  return (b >> 63) ? ~b : (b | (1ull << 63));
}

struct scan_scratch {
  int warp_base[warps];
  int total;
};

/// Exclusive block-wide prefix count of `flag` in thread order; `total` gets the block's count.
/// Every thread of the block must call it.
__device__ int block_scan(bool flag, scan_scratch& sh, int& total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const unsigned bits = __ballot_sync(0xffffffffu, flag);
  const int in_warp = __popc(bits & ((1u << lane) - 1u));
  if (lane == 0) sh.warp_base[warp] = __popc(bits);
  __syncthreads();
  if (threadIdx.x == 0) {
    int acc = 0;
    for (int w = 0; w < warps; ++w) {
      const int c = sh.warp_base[w];
      sh.warp_base[w] = acc;
      acc += c;
    }
    sh.total = acc;
  }
  __syncthreads();
  const int rank = sh.warp_base[warp] + in_warp;
  total = sh.total;
  __syncthreads();  // the scratch is reused by the next scan
  return rank;
}

template <typename T, typename Op>
__device__ T block_reduce(T v, T* red, Op op) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (lane == 0) red[warp] = v;
  __syncthreads();
  T r = red[0];
  for (int w = 1; w < warps; ++w) r = op(r, red[w]);
  __syncthreads();
  return r;
}

template <typename U>
struct kth_result {
  U value;        ///< the k-th largest image
  int take_equal; ///< how many elements equal to it complete the k
};

/// The k-th largest of get(0 … n−1) (1 ≤ k ≤ n), 8 bits per pass from the top.
template <typename U, typename Get>
__device__ kth_result<U> radix_kth_largest(long long n, int k, Get get) {
  __shared__ unsigned hist[256];
  __shared__ U prefix_sh;
  __shared__ int remaining_sh;
  U prefix = 0, mask = 0;
  int remaining = k;
  for (int shift = static_cast<int>(sizeof(U)) * 8 - 8; shift >= 0; shift -= 8) {
    for (int x = threadIdx.x; x < 256; x += blockDim.x) hist[x] = 0;
    __syncthreads();
    for (long long c = threadIdx.x; c < n; c += blockDim.x) {
      const U u = get(c);
      if ((u & mask) == prefix) atomicAdd(&hist[static_cast<unsigned>(u >> shift) & 255u], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int cum = 0;
      for (int dgt = 255; dgt >= 0; --dgt) {
        const int h = static_cast<int>(hist[dgt]);
        if (cum + h >= remaining) {
          prefix_sh = prefix | (static_cast<U>(dgt) << shift);
          remaining_sh = remaining - cum;
          break;
        }
        cum += h;
      }
    }
    __syncthreads();
    prefix = prefix_sh;
    remaining = remaining_sh;
    mask |= static_cast<U>(255) << shift;
  }
  return {prefix, remaining};
}

__global__ void __launch_bounds__(threads)
    topk_rows_kernel(score_tile s, int k, std::int32_t* cols, std::int32_t* counts, std::int64_t stride) {
  __shared__ scan_scratch sc;
  const std::int64_t row = blockIdx.x;  // bh·nq + r
  const int i = s.q0 + static_cast<int>(row % s.nq);
  const int n = s.causal ? i + 1 : s.t;
  const float* sr = s.scores + row * s.ld;
  std::int32_t* out = cols + row * stride;
  if (k >= n) {
    for (int j = threadIdx.x; j < n; j += blockDim.x) out[j] = j;
    if (threadIdx.x == 0) counts[row] = n;
    return;
  }
  const auto kth = radix_kth_largest<unsigned>(n, k, [sr](long long c) { return ordered(sr[c]); });
  int base = 0, eq_base = 0;
  for (int j0 = 0; j0 < n; j0 += blockDim.x) {
    const int j = j0 + threadIdx.x;
    const unsigned u = j < n ? ordered(sr[j]) : 0u;
    const bool gt = j < n && u > kth.value, eq = j < n && u == kth.value;
    int eq_total = 0, take_total = 0;
    const int eq_rank = eq_base + block_scan(eq, sc, eq_total);
    const bool take = gt || (eq && eq_rank < kth.take_equal);  // ties: lower index first
    const int pos = base + block_scan(take, sc, take_total);
    if (take) out[pos] = j;
    base += take_total;
    eq_base += eq_total;
  }
  if (threadIdx.x == 0) counts[row] = k;
}

__global__ void __launch_bounds__(threads) grouped_topk_rows_kernel(score_tile s, std::int64_t k, std::int32_t* cols,
                                                                   std::int32_t* counts, std::int64_t stride) {
  extern __shared__ double lse[];  // [H]
  __shared__ scan_scratch sc;
  __shared__ float red_f[warps];
  __shared__ double red_d[warps];
  __shared__ long long cut_sh;
  const int nh = s.heads;
  const int b = static_cast<int>(blockIdx.x / s.nq), r = static_cast<int>(blockIdx.x % s.nq);
  const int i = s.q0 + r;
  const int len = s.causal ? i + 1 : s.t;
  auto row_of = [&](int h) { return (static_cast<std::int64_t>(b) * nh + h) * s.nq + r; };

  for (int h = 0; h < nh; ++h) {
    const float* sr = s.scores + row_of(h) * s.ld;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < len; j += blockDim.x) mx = fmaxf(mx, sr[j]);
    mx = block_reduce(mx, red_f, [](float a, float c) { return fmaxf(a, c); });
    double sum = 0;  // fp64 sum of fp32 exponentials, as the CPU
    for (int j = threadIdx.x; j < len; j += blockDim.x) sum += static_cast<double>(expf(sr[j] - mx));
    sum = block_reduce(sum, red_d, [](double a, double c) { return a + c; });
    if (threadIdx.x == 0) lse[h] = static_cast<double>(mx) + log(sum);
  }
  __syncthreads();

  const long long n = static_cast<long long>(nh) * len;
  const long long budget = k * nh < n ? k * nh : n;
  auto logp = [&](int h, int j) { return static_cast<double>(s.scores[row_of(h) * s.ld + j]) - lse[h]; };
  auto get = [&](long long c) {
    const int h = static_cast<int>(c / len), j = static_cast<int>(c - static_cast<long long>(h) * len);
    return ordered(logp(h, j));
  };
  const bool take_all = budget >= n;
  kth_result<unsigned long long> kth{0, 0};
  bool all_ties = true;
  long long cut = -1;  // last tie taken, as the (key, head) index j·H + h
  if (!take_all) {
    kth = radix_kth_largest<unsigned long long>(n, static_cast<int>(budget), get);
    long long equal = 0;
    for (long long c = threadIdx.x; c < n; c += blockDim.x) equal += get(c) == kth.value;
    equal = block_reduce(equal, reinterpret_cast<long long*>(red_d), [](long long a, long long c) { return a + c; });
    all_ties = equal == kth.take_equal;
    if (!all_ties) {
      // Ties in (key, head) order: find the take_equal-th one.
      int eq_base = 0;
      for (long long c0 = 0; c0 < n; c0 += blockDim.x) {
        const long long c = c0 + threadIdx.x;
        const int j = static_cast<int>(c / nh), h = static_cast<int>(c - static_cast<long long>(j) * nh);
        const bool eq = c < n && ordered(logp(h, j)) == kth.value;
        int eq_total = 0;
        const int rank = eq_base + block_scan(eq, sc, eq_total);
        if (eq && rank == kth.take_equal - 1) cut_sh = c;
        eq_base += eq_total;
      }
      __syncthreads();
      cut = cut_sh;
    }
  }
  for (int h = 0; h < nh; ++h) {
    std::int32_t* out = cols + row_of(h) * stride;
    int base = 0;
    for (int j0 = 0; j0 < len; j0 += blockDim.x) {
      const int j = j0 + threadIdx.x;
      bool take = false;
      if (j < len) {
        const unsigned long long u = ordered(logp(h, j));
        take = take_all || u > kth.value ||
               (u == kth.value && (all_ties || static_cast<long long>(j) * nh + h <= cut));
      }
      int take_total = 0;
      const int pos = base + block_scan(take, sc, take_total);
      if (take) out[pos] = j;
      base += take_total;
    }
    if (threadIdx.x == 0) counts[row_of(h)] = base;
  }
}

void check_grid(std::int64_t blocks, const char* what) {
  if (blocks > std::numeric_limits<int>::max())
    throw std::invalid_argument(std::string(what) + " (CUDA): too many rows for one launch");
}

}  // namespace

void launch_topk_rows(const score_tile& s, int k, std::int32_t* cols, std::int32_t* counts, std::int64_t stride,
                      cudaStream_t stream) {
  const std::int64_t rows = static_cast<std::int64_t>(s.batch) * s.heads * s.nq;
  if (rows <= 0) return;
  check_grid(rows, "top-k selection");
  topk_rows_kernel<<<static_cast<unsigned>(rows), threads, 0, stream>>>(s, k, cols, counts, stride);
  SB_CUDA_CHECK_LAUNCH();
}

void launch_grouped_topk_rows(const score_tile& s, std::int64_t k, std::int32_t* cols, std::int32_t* counts,
                              std::int64_t stride, cudaStream_t stream) {
  const std::int64_t rows = static_cast<std::int64_t>(s.batch) * s.nq;
  if (rows <= 0) return;
  check_grid(rows, "grouped top-k selection");
  const std::size_t smem = static_cast<std::size_t>(s.heads) * sizeof(double);
  if (smem > 48 * 1024) throw std::invalid_argument("grouped top-k selection (CUDA): more than 6144 heads");
  grouped_topk_rows_kernel<<<static_cast<unsigned>(rows), threads, smem, stream>>>(s, k, cols, counts, stride);
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::sparse::cuda_kernels
