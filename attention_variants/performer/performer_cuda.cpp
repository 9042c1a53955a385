// performer on CUDA (see performer_cuda.hpp). Per call, for queries and keys: X (widened to fp32 when
// half) → one GEMM a = d^{-1/4}·X·Wᵀ over all B·H·T rows → −‖x̃‖²/2 and the row maxima → features:
//   softmax queries: per-row stabiliser; non-causal keys: one stabiliser per head (the maximum over
//   its positions and features); causal keys: the running maximum r_j, also passed to the scan as
//   key j's log-scale (favor.hpp's scheme, so no row reads a later key); relu: max(a, 0) + ε.
// Then linear_cuda::attend with den_floor 0 (FLT_MIN), as favor::attend.
#include "attention_variants/performer/performer_cuda.hpp"

#include <cmath>

#include "attention_variants/linear/linear_attention_cuda.hpp"
#include "harness/core/errors.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include <cublas_v2.h>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"
#endif

namespace sb::performer_cuda {
namespace {

linear_cuda::feature_attention shape_of(const problem& p, int m) {
  return {.heads = static_cast<std::int64_t>(p.batch) * p.heads, .t = p.seq_len, .features = m, .dv = p.head_dim,
          .type = p.type, .causal = p.causal, .den_floor = 0.0f};
}

}  // namespace

std::size_t memory_bytes(const problem& p, int m, favor::kernel_kind kernel) {
  const std::size_t heads = static_cast<std::size_t>(p.batch) * p.heads, rows = heads * p.seq_len;
  std::size_t floats = 2 * rows * static_cast<std::size_t>(m);                     // φQ, φK
  if (p.type != dtype::fp32) floats += 2 * rows * static_cast<std::size_t>(p.head_dim);  // Q, K widened
  if (kernel == favor::kernel_kind::softmax)  // row maxima of Q and K, then the keys' running (causal) or head maxima
    floats += 2 * rows + (p.causal ? rows : heads);
  return floats * sizeof(float) + linear_cuda::attend_scratch_bytes(shape_of(p, m)) +
         p.qkv_elements() * dtype_bytes(p.type);
}

#ifdef SEABENCH_HAVE_CUDA
namespace {

class performer_cuda_instance final : public attention_instance {
 public:
  performer_cuda_instance(const problem& p, int m, favor::kernel_kind kernel, favor::row_norms norms)
      : m_p(p),
        m_kernel(kernel),
        m_host_w(favor::draw_projection(p.seed, m, p.head_dim, {.orthogonal = true, .norms = norms})),
        m_tf32(cuda::context::instance().allow_tf32()),
        m_w(m_host_w.w.size()),
        m_workspace(linear_cuda::cublas_workspace_bytes) {
    const cudaStream_t stream = cuda::context::instance().stream();
    SB_CUDA_CHECK(cudaMemcpyAsync(m_w.data(), m_host_w.w.data(), m_w.bytes(), cudaMemcpyHostToDevice, stream));
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));  // set-up: W is ready before the first timed call
  }

  void run(qkv_view in, float* out, run_context& ctx) override {
    auto& cx = cuda::context::instance();
    const cudaStream_t stream = cx.stream();
    const linear_cuda::feature_attention a = shape_of(m_p, m_host_w.m);
    const int m = a.features, d = m_p.head_dim, t = a.t;
    const std::int64_t rows = a.heads * t;
    const std::size_t rd = static_cast<std::size_t>(rows) * d, rm = static_cast<std::size_t>(rows) * m;
    const bool softmax = m_kernel == favor::kernel_kind::softmax;
    const float eps = favor::default_eps(m_kernel);

    const float* xq = in.q;
    const float* xk = in.k;
    cuda::device_buffer<float> wq, wk;
    if (m_p.type != dtype::fp32) {
      wq = cuda::device_buffer<float>(rd, stream);
      wk = cuda::device_buffer<float>(rd, stream);
      linear_cuda::launch_widen(in.q, m_p.type, rd, wq.data(), stream);
      linear_cuda::launch_widen(in.k, m_p.type, rd, wk.data(), stream);
      xq = wq.data();
      xk = wk.data();
    }
    cuda::device_buffer<float> phi_q(rm, stream), phi_k(rm, stream);
    project(xq, rows, phi_q.data());
    project(xk, rows, phi_k.data());

    const float scale = static_cast<float>(std::pow(static_cast<double>(d), -0.25));
    cuda::device_buffer<float> q_max, k_max, key_ref;
    if (softmax) {
      const float half_s2 = 0.5f * scale * scale;
      const float ratio = 1.0f / std::sqrt(static_cast<float>(m));
      q_max = cuda::device_buffer<float>(static_cast<std::size_t>(rows), stream);
      k_max = cuda::device_buffer<float>(static_cast<std::size_t>(rows), stream);
      launch_finish_exponents(xq, d, phi_q.data(), rows, m, half_s2, q_max.data(), stream);
      launch_finish_exponents(xk, d, phi_k.data(), rows, m, half_s2, k_max.data(), stream);
      launch_softmax_features(phi_q.data(), rows, m, q_max.data(), nullptr, t, 0.0f, ratio, eps, stream);
      if (m_p.causal) {
        key_ref = cuda::device_buffer<float>(static_cast<std::size_t>(rows), stream);
        launch_prefix_max(k_max.data(), a.heads, t, key_ref.data(), stream);
        launch_softmax_features(phi_k.data(), rows, m, key_ref.data(), nullptr, t, 0.0f, ratio, eps, stream);
      } else {
        key_ref = cuda::device_buffer<float>(static_cast<std::size_t>(a.heads), stream);
        launch_head_max(k_max.data(), a.heads, t, key_ref.data(), stream);
        launch_softmax_features(phi_k.data(), rows, m, nullptr, key_ref.data(), t, 0.0f, ratio, eps, stream);
      }
    } else {
      launch_relu_features(phi_q.data(), rm, eps, stream);
      launch_relu_features(phi_k.data(), rm, eps, stream);
    }
    const float* log_scale = softmax && m_p.causal ? key_ref.data() : nullptr;
    linear_cuda::attend(a, phi_q.data(), phi_k.data(), log_scale, in.v, out, m_workspace, m_tf32);
    ctx.extras["performer_features"] = m;
  }

 private:
  void project(const float* x, std::int64_t rows, float* a) {
    performer_cuda::project(m_w.data(), m_host_w.m, m_host_w.d, x, rows, a, m_p.type == dtype::fp32 && m_tf32,
                            m_workspace);
  }

  problem m_p;
  favor::kernel_kind m_kernel;
  favor::projection m_host_w;  // drawn once at set-up from the seed (the CPU's numbers), shared by all heads
  bool m_tf32;
  cuda::device_buffer<float> m_w;
  cuda::device_buffer<std::uint8_t> m_workspace;
};

}  // namespace

void project(const float* w, int m, int d, const float* x, std::int64_t rows, float* a, bool tf32,
             cuda::device_buffer<std::uint8_t>& workspace) {
  auto& cx = cuda::context::instance();
  const cublasHandle_t h = cx.cublas();
  SB_CUBLAS_CHECK(cublasSetStream(h, cx.stream()));  // resets the workspace: set both on every call
  SB_CUBLAS_CHECK(cublasSetWorkspace(h, workspace.data(), workspace.bytes()));
  SB_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
  const float scale = static_cast<float>(std::pow(static_cast<double>(d), -0.25)), zero = 0.0f;
  const cublasComputeType_t compute = tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  // Row-major a = s·X·Wᵀ ([rows, m]) is the column-major m×rows product W_cmᵀ·X_cm (W_cm: d×m, X_cm: d×rows).
  SB_CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, static_cast<int>(rows), d, &scale, w, CUDA_R_32F, d, x,
                               CUDA_R_32F, d, &zero, a, CUDA_R_32F, m, compute, CUBLAS_GEMM_DEFAULT));
}

std::unique_ptr<attention_instance> make_instance(const problem& p, int m, favor::kernel_kind kernel,
                                                  favor::row_norms norms) {
  if (static_cast<std::int64_t>(p.batch) * p.heads * p.seq_len > 2147483647LL)
    throw unsupported_case("performer on CUDA: more than 2^31 - 1 rows in the projection GEMM");
  return std::make_unique<performer_cuda_instance>(p, m, kernel, norms);
}
#endif  // SEABENCH_HAVE_CUDA

}  // namespace sb::performer_cuda
