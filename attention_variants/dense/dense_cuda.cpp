// dense on CUDA: S = τ·Q·Kᵀ for every (batch, head) with one strided-batched cuBLAS GEMM into a
// materialised [B, H, T, T] fp32 score matrix from the device pool, the row softmax in place
// (dense.cu; causal rows keep keys j ≤ i), then O = P·V with a second GEMM. fp32 inputs use fp32
// GEMMs (TF32 tensor cores only when the context allows TF32); fp16 / bf16 inputs accumulate in fp32,
// write the scores in fp32, store P in the input type inside the score buffer and O in the input type.
// The cuBLAS workspace is a pool buffer made at instantiate(), so cuBLAS allocates nothing itself.
#include "attention_variants/dense/dense_cuda.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "attention_variants/dense/dense_kernels.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"

namespace sb::dense_cuda {
namespace {

/// NVIDIA's recommended cuBLAS workspace on Hopper.
constexpr std::size_t cublas_workspace_bytes = std::size_t{32} << 20;

cudaDataType_t cuda_type(dtype t) {
  switch (t) {
    case dtype::fp32: return CUDA_R_32F;
    case dtype::fp16: return CUDA_R_16F;
    case dtype::bf16: return CUDA_R_16BF;
  }
  return CUDA_R_32F;
}

class dense_cuda_instance final : public attention_instance {
 public:
  explicit dense_cuda_instance(const problem& p)
      : m_p(p), m_tf32(cuda::context::instance().allow_tf32()), m_workspace(cublas_workspace_bytes) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    auto& cx = cuda::context::instance();
    const cudaStream_t stream = cx.stream();
    const cublasHandle_t h = cx.cublas();
    // cublasSetStream resets the workspace, so both are set on every call.
    SB_CUBLAS_CHECK(cublasSetStream(h, stream));
    SB_CUBLAS_CHECK(cublasSetWorkspace(h, m_workspace.data(), m_workspace.bytes()));
    SB_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));

    const int t = m_p.seq_len, d = m_p.head_dim;
    ctx.extras["keys_per_query"] = m_p.causal ? (t + 1) / 2.0 : t;  // every visible key
    const auto heads = static_cast<long long>(m_p.batch) * m_p.heads;
    const long long td = static_cast<long long>(t) * d, tt = static_cast<long long>(t) * t;
    cuda::device_buffer<float> scores(static_cast<std::size_t>(heads * tt), stream);  // [B, H, T, T]

    const cudaDataType_t in_type = cuda_type(m_p.type);
    const bool fp32 = m_p.type == dtype::fp32;
    const cublasComputeType_t compute = fp32 && m_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    const float tau = static_cast<float>(m_p.scale()), one = 1.0f, zero = 0.0f;
    // cuBLAS is column-major: a row-major [T, D] head is a column-major D×T matrix. Row-major
    // S = τ·Q·Kᵀ ([T, T]) is column-major Sᵀ = τ·(K_cm)ᵀ·Q_cm with K_cm, Q_cm the D×T views.
    SB_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, t, t, d, &tau, in.k, in_type, d, td, in.q,
                                               in_type, d, td, &zero, scores.data(), CUDA_R_32F, t, tt,
                                               static_cast<int>(heads), compute, CUBLAS_GEMM_DEFAULT));
    launch_softmax_rows(scores.data(), heads * t, t, m_p.causal, m_p.type, stream);
    // Row-major O = P·V ([T, D]) is column-major Oᵀ = V_cm · P_cm, P_cm = Pᵀ with the row stride of P
    // (t fp32 elements, or 2t half elements when P was packed into the fp32 rows).
    const long long ldp = fp32 ? t : 2LL * t;
    SB_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, d, t, t, &one, in.v, in_type, d, td,
                                               scores.data(), in_type, static_cast<int>(ldp), ldp * t, &zero, out,
                                               in_type, d, td, static_cast<int>(heads), compute, CUBLAS_GEMM_DEFAULT));
  }

 private:
  problem m_p;
  bool m_tf32;
  cuda::device_buffer<std::uint8_t> m_workspace;
};

}  // namespace

std::unique_ptr<attention_instance> make_instance(const problem& p) {
  return std::make_unique<dense_cuda_instance>(p);
}

}  // namespace sb::dense_cuda

#endif  // SEABENCH_HAVE_CUDA
