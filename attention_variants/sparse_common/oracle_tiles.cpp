#include "attention_variants/sparse_common/oracle_tiles.hpp"

#include <algorithm>

#include "attention_variants/sparse_common/sparse_attend.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "attention_variants/sparse_common/device_row_keys.hpp"
#include "attention_variants/sparse_common/sparse_attend_cuda.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#endif

namespace sb::sparse {

int oracle_cuda_tile_rows(const problem& p) {
  const std::size_t row_bytes = static_cast<std::size_t>(p.batch) * p.heads * p.seq_len * sizeof(float);
  const std::size_t rows = oracle_tile_budget_bytes / std::max<std::size_t>(row_bytes, 1);
  return static_cast<int>(std::clamp<std::size_t>(rows, 1, static_cast<std::size_t>(p.seq_len)));
}

std::size_t oracle_cuda_bytes(const problem& p, std::int64_t stride) {
  const std::size_t bh = static_cast<std::size_t>(p.batch) * p.heads;
  const std::size_t rows = static_cast<std::size_t>(oracle_cuda_tile_rows(p));
  return p.qkv_elements() * dtype_bytes(p.type) + bh * rows * p.seq_len * sizeof(float) +
         bh * rows * static_cast<std::size_t>(stride) * sizeof(std::int32_t) + bh * rows * sizeof(std::int32_t);
}

void store_tile_lists(const problem& p, int q0, int nq, std::int64_t stride, const std::vector<std::int32_t>& cols,
                      const std::vector<std::int32_t>& counts, std::vector<std::vector<std::int32_t>>& rows) {
  const std::size_t bh_count = static_cast<std::size_t>(p.batch) * p.heads;
  for (std::size_t bh = 0; bh < bh_count; ++bh)
    for (int r = 0; r < nq; ++r) {
      const std::size_t l = bh * nq + r;
      const auto* begin = cols.data() + l * static_cast<std::size_t>(stride);
      rows[bh * p.seq_len + q0 + r].assign(begin, begin + counts[l]);
    }
}

#ifdef SEABENCH_HAVE_CUDA

namespace {

constexpr std::size_t cublas_workspace_bytes = std::size_t{32} << 20;  // NVIDIA's Hopper recommendation

cudaDataType_t cuda_type(dtype t) {
  switch (t) {
    case dtype::fp32: return CUDA_R_32F;
    case dtype::fp16: return CUDA_R_16F;
    case dtype::bf16: return CUDA_R_16BF;
  }
  return CUDA_R_32F;
}

}  // namespace

oracle_pass::oracle_pass() : m_workspace(cublas_workspace_bytes) {}

void oracle_pass::run(const problem& p, qkv_view in, float* out, std::int64_t stride,
                      const std::function<void(const tile_selection&)>& select, attention_support* support) {
  auto& cx = cuda::context::instance();
  const cudaStream_t stream = cx.stream();
  const cublasHandle_t h = cx.cublas();
  SB_CUBLAS_CHECK(cublasSetStream(h, stream));  // resets the workspace, so both are set per call
  SB_CUBLAS_CHECK(cublasSetWorkspace(h, m_workspace.data(), m_workspace.bytes()));
  SB_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));

  const int t = p.seq_len, d = p.head_dim;
  const int heads = p.batch * p.heads;
  const int rows = oracle_cuda_tile_rows(p);
  const std::size_t lists = static_cast<std::size_t>(heads) * rows;
  cuda::device_buffer<float> tile(lists * t, stream);
  cuda::device_buffer<std::int32_t> cols(lists * static_cast<std::size_t>(stride), stream);
  cuda::device_buffer<std::int32_t> counts(lists, stream);

  // fp32 selection must see fp32 scores: TF32 only when the context allows it, as dense.
  const cublasComputeType_t compute =
      p.type == dtype::fp32 && cx.allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const cudaDataType_t in_type = cuda_type(p.type);
  const float tau = static_cast<float>(p.scale()), zero = 0.0f;
  const long long td = static_cast<long long>(t) * d;
  const std::size_t elem = dtype_bytes(p.type);
  const auto* qb = reinterpret_cast<const std::uint8_t*>(in.q);
  cuda_kernels::attend_args args = attend_args_for(p, in, out);

  std::vector<std::vector<std::int32_t>> host_rows;
  std::vector<std::int32_t> host_cols, host_counts;
  if (support) host_rows.resize(p.rows());
  for (int q0 = 0; q0 < t; q0 += rows) {
    const int nq = std::min(rows, t - q0);
    const int ld = p.causal ? q0 + nq : t;
    // Row-major S[nq, ld] = τ·Q[q0:q0+nq]·K[0:ld]ᵀ per head is column-major Sᵀ = τ·(K_cm)ᵀ·Q_cm.
    SB_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_T, CUBLAS_OP_N, ld, nq, d, &tau, in.k, in_type, d, td, qb + static_cast<std::size_t>(q0) * d * elem,
        in_type, d, td, &zero, tile.data(), CUDA_R_32F, ld, static_cast<long long>(nq) * ld, heads, compute,
        CUBLAS_GEMM_DEFAULT));
    select({tile.data(), q0, nq, ld, cols.data(), counts.data()});
    cuda_kernels::key_lists keys;
    keys.cols = cols.data();
    keys.counts = counts.data();
    keys.stride = stride;
    keys.patterns = heads;
    keys.i0 = q0;
    keys.nq = nq;
    cuda_kernels::launch_attend_rows(args, keys, stream);
    if (support) {
      const std::size_t n = static_cast<std::size_t>(heads) * nq;
      host_cols.resize(n * stride);
      host_counts.resize(n);
      SB_CUDA_CHECK(cudaMemcpyAsync(host_cols.data(), cols.data(), host_cols.size() * sizeof(std::int32_t),
                                    cudaMemcpyDeviceToHost, stream));
      SB_CUDA_CHECK(cudaMemcpyAsync(host_counts.data(), counts.data(), n * sizeof(std::int32_t),
                                    cudaMemcpyDeviceToHost, stream));
      SB_CUDA_CHECK(cudaStreamSynchronize(stream));
      store_tile_lists(p, q0, nq, stride, host_cols, host_counts, host_rows);
    }
  }
  if (support) {
    clear_support(*support);
    for (const auto& r : host_rows) append_support_row(*support, r);
  }
}

#endif  // SEABENCH_HAVE_CUDA

}  // namespace sb::sparse
