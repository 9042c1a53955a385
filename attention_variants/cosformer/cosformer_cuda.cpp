// cosformer on CUDA: the 2d-feature map of Q and K into fp32 [B·H, T, 2d] pool buffers, then the
// shared non-causal cuBLAS products or the causal chunked scan (linear_attention_cuda.hpp), with
// the CPU's denominator clamp 1e-6. The `chunk` parameter sets the CPU's blocking only.
#include "attention_variants/cosformer/cosformer_cuda.hpp"

#include "attention_variants/linear/linear_attention_cuda.hpp"

namespace sb::cosformer_cuda {
namespace {

constexpr float den_floor = 1e-6f;  // the official clamp_min(denom, eps)

linear_cuda::feature_attention shape_of(const problem& p) {
  return {.heads = static_cast<std::int64_t>(p.batch) * p.heads, .t = p.seq_len, .features = 2 * p.head_dim,
          .dv = p.head_dim, .type = p.type, .causal = p.causal, .den_floor = den_floor};
}

}  // namespace

std::size_t memory_bytes(const problem& p) {
  const std::size_t rows = static_cast<std::size_t>(p.batch) * p.heads * p.seq_len;
  const std::size_t features = 2 * rows * (2 * static_cast<std::size_t>(p.head_dim)) * sizeof(float);  // φQ, φK
  return features + linear_cuda::attend_scratch_bytes(shape_of(p)) + p.qkv_elements() * dtype_bytes(p.type);
}

#ifdef SEABENCH_HAVE_CUDA
namespace {

class cosformer_cuda_instance final : public attention_instance {
 public:
  explicit cosformer_cuda_instance(const problem& p)
      : m_p(p), m_tf32(cuda::context::instance().allow_tf32()), m_workspace(linear_cuda::cublas_workspace_bytes) {}

  void run(qkv_view in, float* out, run_context&) override {
    const cudaStream_t stream = cuda::context::instance().stream();
    const linear_cuda::feature_attention a = shape_of(m_p);
    const std::size_t n = static_cast<std::size_t>(a.heads) * a.t * a.features;
    cuda::device_buffer<float> phi_q(n, stream), phi_k(n, stream);
    launch_features(in.q, m_p.type, a.heads, a.t, m_p.head_dim, phi_q.data(), stream);
    launch_features(in.k, m_p.type, a.heads, a.t, m_p.head_dim, phi_k.data(), stream);
    linear_cuda::attend(a, phi_q.data(), phi_k.data(), nullptr, in.v, out, m_workspace, m_tf32);
  }

 private:
  problem m_p;
  bool m_tf32;
  cuda::device_buffer<std::uint8_t> m_workspace;
};

}  // namespace

std::unique_ptr<attention_instance> make_instance(const problem& p) {
  return std::make_unique<cosformer_cuda_instance>(p);
}
#endif  // SEABENCH_HAVE_CUDA

}  // namespace sb::cosformer_cuda
