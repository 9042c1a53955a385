// dense_stream on CUDA: one launch of the online-softmax kernel (dense_stream.cu) per call.
#include "attention_variants/dense_stream/dense_stream_cuda.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <string>

#include "attention_variants/dense_stream/dense_stream_kernels.hpp"
#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_context.hpp"

namespace sb::dense_stream_cuda {
namespace {

class dense_stream_cuda_instance final : public attention_instance {
 public:
  explicit dense_stream_cuda_instance(const problem& p) : m_p(p) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const int t = m_p.seq_len;
    ctx.extras["keys_per_query"] = m_p.causal ? (t + 1) / 2.0 : t;  // every visible key
    launch_stream_attention(in.q, in.k, in.v, out, m_p.type, static_cast<std::int64_t>(m_p.batch) * m_p.heads, t,
                            m_p.head_dim, m_p.causal, static_cast<float>(m_p.scale()),
                            cuda::context::instance().stream());
  }

 private:
  problem m_p;
};

}  // namespace

std::unique_ptr<attention_instance> make_instance(const problem& p) {
  if (p.head_dim > max_head_dim)
    throw unsupported_case("dense_stream on CUDA supports head_dim up to " + std::to_string(max_head_dim) + ", not " +
                           std::to_string(p.head_dim));
  return std::make_unique<dense_stream_cuda_instance>(p);
}

}  // namespace sb::dense_stream_cuda

#endif  // SEABENCH_HAVE_CUDA
