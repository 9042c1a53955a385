// The per-row sparse attention kernel over key lists (sparse_attend_cuda.hpp): one warp per query row
// (attend_row_warp.cuh), the row's list found from its (batch, head) pattern.
#include "attention_variants/sparse_common/sparse_attend_cuda.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "attention_variants/sparse_common/attend_row_warp.cuh"
#include "harness/cuda/cuda_error.hpp"

namespace sb::sparse::cuda_kernels {
namespace {

constexpr int warps_per_block = 8;

template <typename E, int CH>
__global__ void __launch_bounds__(warps_per_block * 32)
    attend_rows_kernel(const E* __restrict__ q, const E* __restrict__ k, const E* __restrict__ v, E* __restrict__ out,
                       float* __restrict__ lse, key_lists keys, int heads, int t, int d, float tau,
                       std::int64_t n_rows) {
  const std::int64_t w = static_cast<std::int64_t>(blockIdx.x) * warps_per_block + (threadIdx.x >> 5);
  if (w >= n_rows) return;
  const std::int64_t bh = w / keys.nq;
  const int li = static_cast<int>(w - bh * keys.nq);
  const int i = keys.i0 + li;
  const std::int64_t bh_count = n_rows / keys.nq;
  const std::int64_t g = keys.patterns == 1 ? 0 : (keys.patterns == bh_count ? bh : bh % heads);
  const std::int64_t list = g * keys.nq + li;
  std::int64_t begin, end;
  if (keys.row_ptr) {
    begin = keys.row_ptr[list];
    end = keys.row_ptr[list + 1];
  } else {
    begin = list * keys.stride;
    end = begin + keys.counts[list];
  }
  const std::int64_t head_off = bh * static_cast<std::int64_t>(t) * d;
  const std::int64_t row_off = head_off + static_cast<std::int64_t>(i) * d;
  const std::int32_t* cols = keys.cols + begin;
  const float row_lse = attend_row_warp<E, CH>(q + row_off, k + head_off, v + head_off, out + row_off, d, tau,
                                              end - begin, [cols](std::int64_t e) { return cols[e]; });
  if (lse && (threadIdx.x & 31) == 0) lse[w] = row_lse;
}

template <typename E>
void launch_typed(const attend_args& a, const key_lists& keys, std::int64_t rows, cudaStream_t stream) {
  const std::int64_t blocks = (rows + warps_per_block - 1) / warps_per_block;
  dispatch_head_dim(a.d, [&](auto ch) {
    attend_rows_kernel<E, decltype(ch)::value><<<static_cast<unsigned>(blocks), warps_per_block * 32, 0, stream>>>(
        static_cast<const E*>(a.q), static_cast<const E*>(a.k), static_cast<const E*>(a.v), static_cast<E*>(a.out),
        a.lse, keys, a.heads, a.t, a.d, a.tau, rows);
  });
}

}  // namespace

void launch_attend_rows(const attend_args& a, const key_lists& keys, cudaStream_t stream) {
  if (keys.nq <= 0) return;
  const std::int64_t rows = static_cast<std::int64_t>(a.batch) * a.heads * keys.nq;
  if ((rows + warps_per_block - 1) / warps_per_block > std::numeric_limits<int>::max())
    throw std::invalid_argument("sparse attend (CUDA): too many rows for one launch");
  switch (a.type) {
    case dtype::fp32: launch_typed<float>(a, keys, rows, stream); break;
    case dtype::fp16: launch_typed<__half>(a, keys, rows, stream); break;
    case dtype::bf16: launch_typed<__nv_bfloat16>(a, keys, rows, stream); break;
  }
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::sparse::cuda_kernels
