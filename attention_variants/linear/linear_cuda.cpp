// linear on CUDA: element-wise features of Q and K into fp32 [B·H, T, d] pool buffers, then the shared
// non-causal cuBLAS products or the causal chunked scan (linear_attention_cuda.hpp). The GPU scan
// works in chunks of scan_chunk positions whatever the `chunk` parameter (which only sets the CPU's
// blocking and does not change the result).
#include "attention_variants/linear/linear_cuda.hpp"

#include "attention_variants/linear/linear_attention_cuda.hpp"

namespace sb::linear_cuda {

/// Denominator guard, as the CPU variant: max(φ(q)·Σφ(k), 1e-6).
constexpr float linear_den_floor = 1e-6f;

namespace {

feature_attention shape_of(const problem& p) {
  return {.heads = static_cast<std::int64_t>(p.batch) * p.heads, .t = p.seq_len, .features = p.head_dim,
          .dv = p.head_dim, .type = p.type, .causal = p.causal, .den_floor = linear_den_floor};
}

}  // namespace

std::size_t linear_memory_bytes(const problem& p) {
  const std::size_t rows = static_cast<std::size_t>(p.batch) * p.heads * p.seq_len;
  const std::size_t features = 2 * rows * p.head_dim * sizeof(float);  // φQ, φK
  return features + attend_scratch_bytes(shape_of(p)) + p.qkv_elements() * dtype_bytes(p.type);
}

#ifdef SEABENCH_HAVE_CUDA
namespace {

class linear_cuda_instance final : public attention_instance {
 public:
  linear_cuda_instance(const problem& p, linear_features::kind feature)
      : m_p(p), m_feature(feature), m_tf32(cuda::context::instance().allow_tf32()),
        m_workspace(cublas_workspace_bytes) {}

  void run(qkv_view in, float* out, run_context&) override {
    const cudaStream_t stream = cuda::context::instance().stream();
    const feature_attention a = shape_of(m_p);
    const std::size_t n = static_cast<std::size_t>(a.heads) * a.t * a.features;
    cuda::device_buffer<float> phi_q(n, stream), phi_k(n, stream);
    launch_linear_features(in.q, m_p.type, n, m_feature, phi_q.data(), stream);
    launch_linear_features(in.k, m_p.type, n, m_feature, phi_k.data(), stream);
    attend(a, phi_q.data(), phi_k.data(), nullptr, in.v, out, m_workspace, m_tf32);
  }

 private:
  problem m_p;
  linear_features::kind m_feature;
  bool m_tf32;
  cuda::device_buffer<std::uint8_t> m_workspace;
};

}  // namespace

std::unique_ptr<attention_instance> make_linear_instance(const problem& p, linear_features::kind feature) {
  return std::make_unique<linear_cuda_instance>(p, feature);
}
#endif  // SEABENCH_HAVE_CUDA

}  // namespace sb::linear_cuda
