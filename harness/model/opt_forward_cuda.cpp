// The OPT forward pass on the GPU (see opt_forward_cuda.hpp). cuBLAS is column-major: a row-major
// [rows, k] matrix is a column-major k×rows one, so row-major out = x·Wᵀ (W [n, k], nn.Linear's
// layout) is the column-major product W_cmᵀ · x_cm with m = n, n = rows.
#include "harness/model/opt_forward_cuda.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/model/opt_kernels.hpp"
#include "harness/model/opt_model.hpp"

namespace sb::model {
namespace {

/// nn.LayerNorm's default epsilon, which OPT uses.
constexpr float layer_norm_eps = 1e-5f;
/// Logit rows per block in the loss, as on the CPU: memory O(block · vocab).
constexpr int row_block = 256;
/// NVIDIA's recommended cuBLAS workspace on Hopper.
constexpr std::size_t cublas_workspace_bytes = std::size_t{32} << 20;

using dev = cuda::device_buffer<float>;

dev upload(const std::vector<float>& host, cudaStream_t stream) {
  dev d(host.size(), stream);
  if (!host.empty())
    SB_CUDA_CHECK(cudaMemcpyAsync(d.data(), host.data(), d.bytes(), cudaMemcpyHostToDevice, stream));
  return d;
}

std::vector<float> download(const float* d, std::size_t n, cudaStream_t stream) {
  std::vector<float> host(n);
  if (n) SB_CUDA_CHECK(cudaMemcpyAsync(host.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost, stream));
  SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  return host;
}

}  // namespace

struct opt_forward_cuda::device_weights {
  struct layer {
    dev attn_ln_weight, attn_ln_bias, q_weight, q_bias, k_weight, k_bias, v_weight, v_bias, out_weight, out_bias,
        ffn_ln_weight, ffn_ln_bias, fc1_weight, fc1_bias, fc2_weight, fc2_bias;
  };
  dev embed_tokens, embed_positions, final_ln_weight, final_ln_bias, lm_head;
  std::vector<layer> layers;
  cuda::device_buffer<std::uint8_t> cublas_workspace;
  [[nodiscard]] const float* output_head() const { return lm_head.size() ? lm_head.data() : embed_tokens.data(); }
};

struct opt_forward_cuda::buffers {
  cuda::device_buffer<std::int32_t> ids;
  dev x, h, q, k, v, qh, kh, vh, oh, ffn, scores;
  buffers(int T, int C, int F, int H, bool exact, cudaStream_t s)
      : ids(std::size_t(T), s), x(std::size_t(T) * C, s), h(std::size_t(T) * C, s), q(std::size_t(T) * C, s),
        k(std::size_t(T) * C, s), v(std::size_t(T) * C, s), qh(std::size_t(T) * C, s), kh(std::size_t(T) * C, s),
        vh(std::size_t(T) * C, s), oh(std::size_t(T) * C, s), ffn(std::size_t(T) * F, s),
        scores(exact ? std::size_t(H) * T * T : 0, s) {}
};

opt_forward_cuda::opt_forward_cuda(const opt_model& m, int seq_len, attention_plan plan)
    : m_model(m), m_seq_len(seq_len), m_plan(std::move(plan)) {
  prepare_plan(m, seq_len, m_plan);
  if (m_plan.variant && !m_plan.variant->caps().cuda)
    throw unsupported_case(fmt::format("variant '{}' has no CUDA implementation; evaluate it on the CPU "
                                       "(--device cpu)", m_plan.variant->name()));

  auto& cx = cuda::context::instance();
  const cudaStream_t s = cx.stream();
  m_weights = std::make_unique<device_weights>();
  device_weights& w = *m_weights;
  w.embed_tokens = upload(m.embed_tokens, s);
  w.embed_positions = upload(m.embed_positions, s);
  w.final_ln_weight = upload(m.final_ln_weight, s);
  w.final_ln_bias = upload(m.final_ln_bias, s);
  w.lm_head = upload(m.lm_head, s);  // empty when tied
  for (const opt_layer& L : m.layers)
    w.layers.push_back({upload(L.attn_ln_weight, s), upload(L.attn_ln_bias, s), upload(L.q_weight, s),
                        upload(L.q_bias, s), upload(L.k_weight, s), upload(L.k_bias, s), upload(L.v_weight, s),
                        upload(L.v_bias, s), upload(L.out_weight, s), upload(L.out_bias, s),
                        upload(L.ffn_ln_weight, s), upload(L.ffn_ln_bias, s), upload(L.fc1_weight, s),
                        upload(L.fc1_bias, s), upload(L.fc2_weight, s), upload(L.fc2_bias, s)});
  w.cublas_workspace = cuda::device_buffer<std::uint8_t>(cublas_workspace_bytes, s);
  SB_CUDA_CHECK(cudaStreamSynchronize(s));  // the host vectors may go away after this

  m_instances = instantiate_layers(m, seq_len, m_plan, device_kind::cuda);
}

opt_forward_cuda::~opt_forward_cuda() = default;

bool opt_forward_cuda::uses_variant(int layer) const { return plan_uses_variant(m_plan, layer); }

void opt_forward_cuda::check_window(std::span<const std::int32_t> window) const {
  if (static_cast<int>(window.size()) != m_seq_len)
    throw data_error(fmt::format("window of {} tokens given to a forward pass set up for {}", window.size(), m_seq_len));
  validate_token_ids(m_model, window);  // on the host: a bad id must not become an out-of-bounds gather
}

void opt_forward_cuda::bind_cublas() {
  auto& cx = cuda::context::instance();
  const cublasHandle_t h = cx.cublas();
  // cublasSetStream resets the workspace, so both are set every time.
  SB_CUBLAS_CHECK(cublasSetStream(h, cx.stream()));
  SB_CUBLAS_CHECK(cublasSetWorkspace(h, m_weights->cublas_workspace.data(), m_weights->cublas_workspace.bytes()));
  SB_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
}

void opt_forward_cuda::gemm_xwt(int rows, int n, int k, const float* x, const float* w, float* out, bool accumulate) {
  auto& cx = cuda::context::instance();
  const cublasComputeType_t compute = cx.allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  SB_CUBLAS_CHECK(cublasGemmEx(cx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, n, rows, k, &one, w, CUDA_R_32F, k, x,
                               CUDA_R_32F, k, &beta, out, CUDA_R_32F, n, compute, CUBLAS_GEMM_DEFAULT));
}

void opt_forward_cuda::exact_attention(int T, const float* q, const float* k, const float* v, float* scores,
                                       float* out) {
  auto& cx = cuda::context::instance();
  const opt_config& c = m_model.config;
  const int H = c.num_heads, D = c.head_dim();
  const long long td = static_cast<long long>(T) * D, tt = static_cast<long long>(T) * T;
  const cublasComputeType_t compute = cx.allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  // The one place the scale is applied for exact layers (queries arrive unscaled).
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D))), one = 1.0f, zero = 0.0f;
  // Row-major S = scale·Q·Kᵀ [T, T] per head is column-major Sᵀ = scale·K_cmᵀ·Q_cm.
  SB_CUBLAS_CHECK(cublasGemmStridedBatchedEx(cx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, T, T, D, &scale, k, CUDA_R_32F, D,
                                             td, q, CUDA_R_32F, D, td, &zero, scores, CUDA_R_32F, T, tt, H, compute,
                                             CUBLAS_GEMM_DEFAULT));
  cuda_kernels::causal_softmax_rows(scores, H, T, cx.stream());
  // Row-major O = P·V [T, D] is column-major Oᵀ = V_cm·P_cm.
  SB_CUBLAS_CHECK(cublasGemmStridedBatchedEx(cx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, D, T, T, &one, v, CUDA_R_32F, D,
                                             td, scores, CUDA_R_32F, T, tt, &zero, out, CUDA_R_32F, D, td, H, compute,
                                             CUBLAS_GEMM_DEFAULT));
}

void opt_forward_cuda::hidden_states(std::span<const std::int32_t> window, buffers& b) {
  check_window(window);
  auto& cx = cuda::context::instance();
  const cudaStream_t s = cx.stream();
  const opt_config& c = m_model.config;
  const int T = m_seq_len, C = c.hidden_size, H = c.num_heads, D = c.head_dim(), F = c.ffn_dim;
  const std::size_t n_heads = static_cast<std::size_t>(T) * C;
  const device_weights& w = *m_weights;
  bind_cublas();
  SB_CUDA_CHECK(cudaMemcpyAsync(b.ids.data(), window.data(), window.size_bytes(), cudaMemcpyHostToDevice, s));
  cuda_kernels::embed(b.ids.data(), w.embed_tokens.data(), w.embed_positions.data(), position_offset, T, C, b.x.data(), s);
  for (int l = 0; l < c.num_layers; ++l) {
    const auto& L = w.layers[static_cast<std::size_t>(l)];
    cuda_kernels::layer_norm(b.x.data(), L.attn_ln_weight.data(), L.attn_ln_bias.data(), layer_norm_eps, T, C,
                             b.h.data(), s);
    // Queries stay unscaled: the attention (exact below, or the variant) applies 1/sqrt(D) once.
    gemm_xwt(T, C, C, b.h.data(), L.q_weight.data(), b.q.data(), false);
    cuda_kernels::add_bias(b.q.data(), L.q_bias.data(), T, C, false, s);
    gemm_xwt(T, C, C, b.h.data(), L.k_weight.data(), b.k.data(), false);
    cuda_kernels::add_bias(b.k.data(), L.k_bias.data(), T, C, false, s);
    gemm_xwt(T, C, C, b.h.data(), L.v_weight.data(), b.v.data(), false);
    cuda_kernels::add_bias(b.v.data(), L.v_bias.data(), T, C, false, s);
    cuda_kernels::split_heads(b.q.data(), T, H, D, b.qh.data(), s);
    cuda_kernels::split_heads(b.k.data(), T, H, D, b.kh.data(), s);
    cuda_kernels::split_heads(b.v.data(), T, H, D, b.vh.data(), s);
    if (on_attention_inputs) {
      const auto q = download(b.qh.data(), n_heads, s), k = download(b.kh.data(), n_heads, s),
                 v = download(b.vh.data(), n_heads, s);
      on_attention_inputs(l, q.data(), k.data(), v.data());
    }
    if (auto& inst = m_instances[static_cast<std::size_t>(l)]) {
      run_variant_call(*inst, list_support && m_plan.variant->caps().exposes_support, qkv_view{b.qh.data(), b.kh.data(), b.vh.data()},
                       b.oh.data(), attention_extras);
      bind_cublas();  // the variant may have bound its own workspace or math mode
    } else {
      exact_attention(T, b.qh.data(), b.kh.data(), b.vh.data(), b.scores.data(), b.oh.data());
    }
    cuda_kernels::merge_heads(b.oh.data(), T, H, D, b.q.data(), s);
    gemm_xwt(T, C, C, b.q.data(), L.out_weight.data(), b.x.data(), /*accumulate=*/true);  // residual
    cuda_kernels::add_bias(b.x.data(), L.out_bias.data(), T, C, false, s);
    cuda_kernels::layer_norm(b.x.data(), L.ffn_ln_weight.data(), L.ffn_ln_bias.data(), layer_norm_eps, T, C,
                             b.h.data(), s);
    gemm_xwt(T, F, C, b.h.data(), L.fc1_weight.data(), b.ffn.data(), false);
    cuda_kernels::add_bias(b.ffn.data(), L.fc1_bias.data(), T, F, /*relu=*/true, s);
    gemm_xwt(T, C, F, b.ffn.data(), L.fc2_weight.data(), b.x.data(), /*accumulate=*/true);  // residual
    cuda_kernels::add_bias(b.x.data(), L.fc2_bias.data(), T, C, false, s);
  }
  cuda_kernels::layer_norm(b.x.data(), w.final_ln_weight.data(), w.final_ln_bias.data(), layer_norm_eps, T, C,
                           b.h.data(), s);
}

std::vector<float> opt_forward_cuda::logits(std::span<const std::int32_t> window) {
  const opt_config& c = m_model.config;
  const cudaStream_t s = cuda::context::instance().stream();
  const bool exact = std::any_of(m_instances.begin(), m_instances.end(), [](const auto& i) { return !i; });
  buffers b(m_seq_len, c.hidden_size, c.ffn_dim, c.num_heads, exact, s);
  hidden_states(window, b);
  dev out(static_cast<std::size_t>(m_seq_len) * c.vocab_size, s);
  gemm_xwt(m_seq_len, c.vocab_size, c.hidden_size, b.h.data(), m_weights->output_head(), out.data(), false);
  return download(out.data(), out.size(), s);
}

double opt_forward_cuda::window_nll(std::span<const std::int32_t> window) {
  const opt_config& c = m_model.config;
  const int V = c.vocab_size, C = c.hidden_size;
  const cudaStream_t s = cuda::context::instance().stream();
  const bool exact = std::any_of(m_instances.begin(), m_instances.end(), [](const auto& i) { return !i; });
  buffers b(m_seq_len, C, c.ffn_dim, c.num_heads, exact, s);
  hidden_states(window, b);
  const int predictions = m_seq_len - 1;  // position t predicts token t + 1
  dev block(static_cast<std::size_t>(std::min(row_block, predictions)) * V, s);
  dev nll(static_cast<std::size_t>(predictions), s);
  for (int r0 = 0; r0 < predictions; r0 += row_block) {
    const int rows = std::min(row_block, predictions - r0);
    gemm_xwt(rows, V, C, b.h.data() + static_cast<std::size_t>(r0) * C, m_weights->output_head(), block.data(), false);
    cuda_kernels::token_nll(block.data(), b.ids.data() + r0 + 1, rows, V, nll.data() + r0, s);
  }
  const std::vector<float> per_token = download(nll.data(), nll.size(), s);
  double sum = 0;
  for (float x : per_token) sum += x;
  return sum;
}

}  // namespace sb::model

#endif  // SEABENCH_HAVE_CUDA
