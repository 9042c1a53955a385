// Non-causal linear attention on CUDA with cuBLAS, and the dispatch to the causal scan (see
// linear_attention_cuda.hpp). All products are fp32 (TF32 only when allowed); half V is widened to an
// fp32 copy first, so the GEMM operands share one type.
#include "attention_variants/linear/linear_attention_cuda.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include <cublas_v2.h>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#endif

namespace sb::linear_cuda {

std::size_t attend_scratch_bytes(const feature_attention& a) {
  if (a.causal) return 0;  // the scan's state lives in shared memory
  const auto h = static_cast<std::size_t>(a.heads), t = static_cast<std::size_t>(a.t);
  const auto f = static_cast<std::size_t>(a.features), dv = static_cast<std::size_t>(a.dv);
  std::size_t floats = h * f * dv + h * f + h * t * dv;  // S, z, num
  if (a.type != dtype::fp32) floats += h * t * dv;       // V widened
  return floats * sizeof(float);
}

std::size_t attend_sums_scratch_bytes(const feature_attention& a) {
  if (a.causal) return 0;
  const auto h = static_cast<std::size_t>(a.heads), t = static_cast<std::size_t>(a.t);
  const auto f = static_cast<std::size_t>(a.features), dv = static_cast<std::size_t>(a.dv);
  std::size_t floats = h * f * dv + h * f;         // S, z
  if (a.type != dtype::fp32) floats += h * t * dv;  // V widened
  return floats * sizeof(float);
}

#ifdef SEABENCH_HAVE_CUDA

namespace {

/// Non-causal products of every head: state = φKᵀ·V [F, Dv] and num = φQ·state [T, Dv] (fp32,
/// cuBLAS strided-batched), V widened to fp32 first when half.
void noncausal_products(const feature_attention& a, const float* phi_q, const float* phi_k, const void* v,
                        float* num, cuda::device_buffer<std::uint8_t>& cublas_workspace, bool allow_tf32) {
  auto& cx = cuda::context::instance();
  const cudaStream_t stream = cx.stream();
  const cublasHandle_t h = cx.cublas();
  SB_CUBLAS_CHECK(cublasSetStream(h, stream));  // resets the workspace: set both on every call
  SB_CUBLAS_CHECK(cublasSetWorkspace(h, cublas_workspace.data(), cublas_workspace.bytes()));
  SB_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
  const int t = a.t, f = a.features, dv = a.dv;
  const auto heads = static_cast<std::size_t>(a.heads);
  const std::size_t td = static_cast<std::size_t>(t) * dv;

  const float* v32 = static_cast<const float*>(v);
  cuda::device_buffer<float> widened;
  if (a.type != dtype::fp32) {
    widened = cuda::device_buffer<float>(heads * td, stream);
    launch_widen(v, a.type, heads * td, widened.data(), stream);
    v32 = widened.data();
  }
  cuda::device_buffer<float> state(heads * f * dv, stream);
  const cublasComputeType_t compute =
      a.type == dtype::fp32 && allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const float one = 1.0f, zero = 0.0f;
  const auto batch = static_cast<int>(a.heads);
  // Column-major views: a row-major [T, X] head is an X×T matrix with leading dimension X.
  // Row-major S = φKᵀ·V ([F, Dv]) is the column-major Dv×F product V_cm·φK_cmᵀ.
  SB_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_T, dv, f, t, &one, v32, CUDA_R_32F, dv,
                                             static_cast<long long>(td), phi_k, CUDA_R_32F, f,
                                             static_cast<long long>(t) * f, &zero, state.data(), CUDA_R_32F, dv,
                                             static_cast<long long>(f) * dv, batch, compute, CUBLAS_GEMM_DEFAULT));
  // Row-major num = φQ·S ([T, Dv]) is the column-major Dv×T product S_cm·φQ_cm.
  SB_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, dv, t, f, &one, state.data(), CUDA_R_32F,
                                             dv, static_cast<long long>(f) * dv, phi_q, CUDA_R_32F, f,
                                             static_cast<long long>(t) * f, &zero, num, CUDA_R_32F, dv,
                                             static_cast<long long>(td), batch, compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

void attend(const feature_attention& a, const float* phi_q, const float* phi_k, const float* key_log_scale,
            const void* v, void* out, cuda::device_buffer<std::uint8_t>& cublas_workspace, bool allow_tf32) {
  const cudaStream_t stream = cuda::context::instance().stream();
  if (a.causal) {
    launch_causal_scan(a, phi_q, phi_k, key_log_scale, v, out, stream);
    return;
  }
  const auto heads = static_cast<std::size_t>(a.heads);
  cuda::device_buffer<float> z(heads * a.features, stream), num(heads * a.t * static_cast<std::size_t>(a.dv), stream);
  noncausal_products(a, phi_q, phi_k, v, num.data(), cublas_workspace, allow_tf32);
  launch_feature_sums(phi_k, a.heads, a.t, a.features, z.data(), stream);
  launch_normalise(a, num.data(), phi_q, z.data(), out, stream);
}

void attend_sums(const feature_attention& a, const float* phi_q, const float* phi_k, const float* key_log_scale,
                 const void* v, float* num, float* den, cuda::device_buffer<std::uint8_t>& cublas_workspace,
                 bool allow_tf32) {
  const cudaStream_t stream = cuda::context::instance().stream();
  if (a.causal) {
    launch_causal_scan_sums(a, phi_q, phi_k, key_log_scale, v, num, den, stream);
    return;
  }
  cuda::device_buffer<float> z(static_cast<std::size_t>(a.heads) * a.features, stream);
  noncausal_products(a, phi_q, phi_k, v, num, cublas_workspace, allow_tf32);
  launch_feature_sums(phi_k, a.heads, a.t, a.features, z.data(), stream);
  launch_row_dots(phi_q, z.data(), a.heads, a.t, a.features, den, stream);
}

#endif  // SEABENCH_HAVE_CUDA

}  // namespace sb::linear_cuda
