// SEA stage 4 on CUDA, the cuSPARSE implementation (sparse_attention_cuda.hpp): head-major CSR views,
// cusparseSDDMM → row softmax (+ gate) → cusparseSpMM, one (batch, head) view at a time.
#include <cusparse.h>

#include <cub/device/device_scan.cuh>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "attention_variants/sea/sea_device.cuh"
#include "attention_variants/sea/sparse_attention_cuda.hpp"
#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"

namespace sb::sea::gpu {
namespace {

[[noreturn]] void throw_cusparse(cusparseStatus_t s, const char* expr, int line) {
  const std::string what = "cuSPARSE error " + std::to_string(static_cast<int>(s)) + " (" +
                           cusparseGetErrorString(s) + ") in `" + expr + "` at sparse_cusparse_cuda.cu:" +
                           std::to_string(line);
  if (s == CUSPARSE_STATUS_ALLOC_FAILED) throw out_of_memory(what, 0);
  if (s == CUSPARSE_STATUS_NOT_SUPPORTED) throw unsupported_case(what);
  throw cuda::cuda_error(what, static_cast<int>(s), cuda::is_sticky_error(cudaPeekAtLastError()));
}
#define SEA_CUSPARSE_CHECK(expr)                                              \
  do {                                                                        \
    const cusparseStatus_t sea_status_ = (expr);                              \
    if (sea_status_ != CUSPARSE_STATUS_SUCCESS) throw_cusparse(sea_status_, #expr, __LINE__); \
  } while (0)

cudaDataType_t cuda_type(dtype t) {
  switch (t) {
    case dtype::fp32: return CUDA_R_32F;
    case dtype::fp16: return CUDA_R_16F;
    case dtype::bf16: return CUDA_R_16BF;
  }
  return CUDA_R_32F;
}

/// Segment lengths in head-major row order (b·H + h)·T + t; len[B·H·T] = 0 for the scan's total.
__global__ void head_major_lengths(const std::int32_t* hoff, long long rows_hm, int T, int H, std::int64_t* len) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i == rows_hm) len[i] = 0;
  if (i >= rows_hm) return;
  const long long bh = i / T;
  const int t = static_cast<int>(i % T), h = static_cast<int>(bh % H);
  const long long r = (bh / H) * T + t;
  len[i] = hoff[r * (H + 1) + h + 1] - hoff[r * (H + 1) + h];
}

/// One warp per head-major row: copy its keys; write its offset relative to the view's start (int32).
__global__ void head_major_gather(const std::int64_t* row_ptr, const std::int32_t* hoff, const std::int32_t* col,
                                  const std::int64_t* hm_ptr, long long rows_hm, int T, int H,
                                  std::int32_t* hm_col, std::int32_t* rel_ptr) {
  const long long i = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (i >= rows_hm) return;
  const long long bh = i / T;
  const int t = static_cast<int>(i % T), h = static_cast<int>(bh % H);
  const long long r = (bh / H) * T + t;
  const std::int32_t* src = col + row_ptr[r] + hoff[r * (H + 1) + h];
  const std::int64_t dst = hm_ptr[i];
  const int n = static_cast<int>(hm_ptr[i + 1] - dst);
  for (int j = lane; j < n; j += 32) hm_col[dst + j] = src[j];
  if (lane == 0) {
    const std::int64_t view_start = hm_ptr[bh * T];
    rel_ptr[bh * (T + 1) + t] = static_cast<std::int32_t>(dst - view_start);
    if (t == T - 1) rel_ptr[bh * (T + 1) + T] = static_cast<std::int32_t>(hm_ptr[i + 1] - view_start);
  }
}

/// The start of every view, hm_ptr[bh·T] for bh = 0..B·H (the last one is nnz).
__global__ void view_starts(const std::int64_t* hm_ptr, long long views, int T, std::int64_t* out) {
  const long long bh = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (bh <= views) out[bh] = hm_ptr[bh * T];
}

/// x widened to fp32 (for a cuSPARSE without half-precision SDDMM inputs).
template <typename E>
__global__ void widen(const E* x, std::size_t n, float* out) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = cuda::to_f32(x[i]);
}

/// One warp per head-major row: P = softmax(scores)·σ(s0) in the case dtype.
template <typename E>
__global__ void csr_row_softmax(const float* scores, const std::int64_t* hm_ptr, long long rows_hm, int T, int te,
                                int skip, const float* gates, E* P) {
  const long long i = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (i >= rows_hm) return;
  const std::int64_t lo = hm_ptr[i], hi = hm_ptr[i + 1];
  float mx = -INFINITY;
  for (std::int64_t j = lo + lane; j < hi; j += 32) mx = fmaxf(mx, scores[j]);
  mx = cuda_detail::warp_max(mx);
  float sum = 0;
  for (std::int64_t j = lo + lane; j < hi; j += 32) sum += expf(scores[j] - mx);
  sum = cuda_detail::warp_sum(sum);
  float scale = 1.0f / sum;
  if (gates) {
    const long long bh = i / T;
    const int t = static_cast<int>(i % T);
    scale *= 1.0f / (1.0f + expf(-gates[(bh * te + t / skip) * 2]));
  }
  for (std::int64_t j = lo + lane; j < hi; j += 32) P[j] = cuda::from_f32<E>(expf(scores[j] - mx) * scale);
}

}  // namespace

cusparse_attention::cusparse_attention() {
  cusparseHandle_t h = nullptr;
  SEA_CUSPARSE_CHECK(cusparseCreate(&h));
  m_handle = h;
}

cusparse_attention::~cusparse_attention() {
  if (m_handle) cusparseDestroy(static_cast<cusparseHandle_t>(m_handle));
}

void cusparse_attention::run(const problem& p, const config& c, const void* q, const void* k, const void* v,
                             csr_view csr, const float* gates, void* out, cudaStream_t stream) {
  if (p.head_dim > max_sparse_head_dim)
    throw unsupported_case("sea on CUDA: sparse attention takes head_dim <= " + std::to_string(max_sparse_head_dim));
  auto handle = static_cast<cusparseHandle_t>(m_handle);
  SEA_CUSPARSE_CHECK(cusparseSetStream(handle, stream));
  const int T = p.seq_len, H = p.heads, d = p.head_dim;
  const long long views = static_cast<long long>(p.batch) * H, rows_hm = views * T;
  constexpr int block = 256;
  auto blocks = [](long long n) { return static_cast<unsigned>((n + block - 1) / block); };

  // 1. Head-major CSR: segment lengths, scan, view starts (to the host: cuSPARSE wants each view's nnz).
  cuda::device_buffer<std::int64_t> hm_ptr(static_cast<std::size_t>(rows_hm) + 1, stream);
  {
    cuda::device_buffer<std::int64_t> lengths(static_cast<std::size_t>(rows_hm) + 1, stream);
    head_major_lengths<<<blocks(rows_hm + 1), block, 0, stream>>>(csr.hoff, rows_hm, T, H, lengths.data());
    SB_CUDA_CHECK_LAUNCH();
    std::size_t bytes = 0;
    SB_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, bytes, lengths.data(), hm_ptr.data(), rows_hm + 1, stream));
    cuda::device_buffer<std::uint8_t> tmp(bytes > 0 ? bytes : 1, stream);
    SB_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(tmp.data(), bytes, lengths.data(), hm_ptr.data(), rows_hm + 1, stream));
  }
  std::vector<std::int64_t> starts(static_cast<std::size_t>(views) + 1);
  {
    cuda::device_buffer<std::int64_t> d_starts(starts.size(), stream);
    view_starts<<<blocks(views + 1), block, 0, stream>>>(hm_ptr.data(), views, T, d_starts.data());
    SB_CUDA_CHECK_LAUNCH();
    SB_CUDA_CHECK(cudaMemcpyAsync(starts.data(), d_starts.data(), starts.size() * sizeof(std::int64_t),
                                  cudaMemcpyDeviceToHost, stream));
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  const std::int64_t nnz = starts.back();
  for (long long bh = 0; bh < views; ++bh)
    if (starts[bh + 1] - starts[bh] > std::numeric_limits<std::int32_t>::max())
      throw unsupported_case("sea sparse_impl=cusparse: one (batch, head) view holds 2^31 or more keys");
  const std::size_t alloc = static_cast<std::size_t>(nnz > 0 ? nnz : 1);
  cuda::device_buffer<std::int32_t> hm_col(alloc, stream);
  cuda::device_buffer<std::int32_t> rel_ptr(static_cast<std::size_t>(views) * (T + 1), stream);
  head_major_gather<<<blocks(rows_hm * 32), block, 0, stream>>>(csr.row_ptr, csr.hoff, csr.col, hm_ptr.data(),
                                                                rows_hm, T, H, hm_col.data(), rel_ptr.data());
  SB_CUDA_CHECK_LAUNCH();

  cuda::device_buffer<float> scores(alloc, stream);
  // cuSPARSE documents SDDMM as C = α·(A·B)∘spy(C) + β·C without promising that β = 0 skips reading C;
  // a pool buffer may hold NaN from an earlier case and 0·NaN = NaN, so the values start at zero.
  SB_CUDA_CHECK(cudaMemsetAsync(scores.data(), 0, alloc * sizeof(float), stream));
  cuda::device_buffer<std::uint8_t> probs(alloc * dtype_bytes(p.type), stream);
  const cudaDataType_t et = cuda_type(p.type);
  const std::size_t elem = dtype_bytes(p.type), head_elems = static_cast<std::size_t>(T) * d;
  const float tau = static_cast<float>(p.scale()), one = 1.0f, zero = 0.0f;

  // 2. SDDMM per view: scores = τ·(Q·Kᵀ) ∘ spy(view). Returns cuSPARSE's status (descriptors freed).
  auto sddmm_view = [&](long long bh, const void* qh, const void* kh, cudaDataType_t type) {
    const std::int64_t vnnz = starts[bh + 1] - starts[bh];
    cusparseConstDnMatDescr_t A = nullptr, B = nullptr;
    cusparseSpMatDescr_t C = nullptr;
    cusparseStatus_t st = cusparseCreateConstDnMat(&A, T, d, d, qh, type, CUSPARSE_ORDER_ROW);
    // Kᵀ [d, T] column-major (leading dimension d) is K [T, d] row-major, as stored: no transpose op
    // (row-major Q with column-major Kᵀ is the SDDMM layout verified on the H200, measurement.md §9).
    if (st == CUSPARSE_STATUS_SUCCESS) st = cusparseCreateConstDnMat(&B, d, T, d, kh, type, CUSPARSE_ORDER_COL);
    if (st == CUSPARSE_STATUS_SUCCESS)
      st = cusparseCreateCsr(&C, T, T, vnnz, rel_ptr.data() + bh * (T + 1), hm_col.data() + starts[bh],
                             scores.data() + starts[bh], CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                             CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F);
    std::size_t bytes = 0;
    if (st == CUSPARSE_STATUS_SUCCESS)
      st = cusparseSDDMM_bufferSize(handle, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &tau,
                                    A, B, &zero, C, CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT, &bytes);
    if (st == CUSPARSE_STATUS_SUCCESS) {
      cuda::device_buffer<std::uint8_t> work(bytes > 0 ? bytes : 1, stream);
      st = cusparseSDDMM(handle, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &tau, A, B,
                         &zero, C, CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT, work.data());
    }
    if (A) cusparseDestroyDnMat(A);
    if (B) cusparseDestroyDnMat(B);
    if (C) cusparseDestroySpMat(C);
    return st;
  };
  // When this cuSPARSE rejects half-precision inputs to SDDMM, the view's Q and K are widened to fp32
  // first (remembered for later calls); the scores are fp32 either way.
  cuda::device_buffer<float> wide_q, wide_k;
  for (long long bh = 0; bh < views; ++bh) {
    if (starts[bh + 1] == starts[bh]) continue;
    const auto* qh = static_cast<const std::uint8_t*>(q) + bh * head_elems * elem;
    const auto* kh = static_cast<const std::uint8_t*>(k) + bh * head_elems * elem;
    cusparseStatus_t st = CUSPARSE_STATUS_NOT_SUPPORTED;
    if (!m_widen_sddmm) {
      st = sddmm_view(bh, qh, kh, et);
      if (st == CUSPARSE_STATUS_NOT_SUPPORTED && p.type != dtype::fp32) m_widen_sddmm = true;
    }
    if (m_widen_sddmm) {
      if (!wide_q.data()) {
        wide_q = cuda::device_buffer<float>(head_elems, stream);
        wide_k = cuda::device_buffer<float>(head_elems, stream);
      }
      cuda_detail::dispatch_dtype(p.type, [&](auto tag) {
        using E = typename decltype(tag)::type;
        widen<E><<<blocks(static_cast<long long>(head_elems)), block, 0, stream>>>(reinterpret_cast<const E*>(qh),
                                                                                  head_elems, wide_q.data());
        widen<E><<<blocks(static_cast<long long>(head_elems)), block, 0, stream>>>(reinterpret_cast<const E*>(kh),
                                                                                  head_elems, wide_k.data());
      });
      SB_CUDA_CHECK_LAUNCH();
      st = sddmm_view(bh, wide_q.data(), wide_k.data(), CUDA_R_32F);
    }
    if (st != CUSPARSE_STATUS_SUCCESS) throw_cusparse(st, "cusparseSDDMM (per view)", __LINE__);
  }
  wide_q.reset();
  wide_k.reset();

  // 3. Row softmax (+ row gate) into P, in the case dtype.
  cuda_detail::dispatch_dtype(p.type, [&](auto tag) {
    using E = typename decltype(tag)::type;
    csr_row_softmax<E><<<blocks(rows_hm * 32), block, 0, stream>>>(scores.data(), hm_ptr.data(), rows_hm, T,
                                                                    c.estimator_rows(T), c.query_skip, gates,
                                                                    reinterpret_cast<E*>(probs.data()));
  });
  SB_CUDA_CHECK_LAUNCH();
  scores.reset();

  // 4. SpMM per view: O = P·V (rows without keys come out 0).
  for (long long bh = 0; bh < views; ++bh) {
    const std::int64_t vnnz = starts[bh + 1] - starts[bh];
    auto* oh = static_cast<std::uint8_t*>(out) + bh * head_elems * elem;
    if (vnnz == 0) {
      SB_CUDA_CHECK(cudaMemsetAsync(oh, 0, head_elems * elem, stream));
      continue;
    }
    const auto* vh = static_cast<const std::uint8_t*>(v) + bh * head_elems * elem;
    cusparseConstSpMatDescr_t A = nullptr;
    cusparseConstDnMatDescr_t B = nullptr;
    cusparseDnMatDescr_t C = nullptr;
    SEA_CUSPARSE_CHECK(cusparseCreateConstCsr(&A, T, T, vnnz, rel_ptr.data() + bh * (T + 1),
                                              hm_col.data() + starts[bh], probs.data() + starts[bh] * elem,
                                              CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, et));
    SEA_CUSPARSE_CHECK(cusparseCreateConstDnMat(&B, T, d, d, vh, et, CUSPARSE_ORDER_ROW));
    SEA_CUSPARSE_CHECK(cusparseCreateDnMat(&C, T, d, d, oh, et, CUSPARSE_ORDER_ROW));
    std::size_t bytes = 0;
    SEA_CUSPARSE_CHECK(cusparseSpMM_bufferSize(handle, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                               CUSPARSE_OPERATION_NON_TRANSPOSE, &one, A, B, &zero, C, CUDA_R_32F,
                                               CUSPARSE_SPMM_ALG_DEFAULT, &bytes));
    cuda::device_buffer<std::uint8_t> work(bytes > 0 ? bytes : 1, stream);
    SEA_CUSPARSE_CHECK(cusparseSpMM(handle, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &one,
                                    A, B, &zero, C, CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, work.data()));
    cusparseDestroySpMat(A);
    cusparseDestroyDnMat(B);
    cusparseDestroyDnMat(C);
  }
}

}  // namespace sb::sea::gpu
