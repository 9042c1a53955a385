// dense_cudnn: cuDNN's fused scaled-dot-product attention (the flash-attention engine behind
// PyTorch's CUDNN_ATTENTION backend) as the vendor reference on the GPU. GPU-only (its CPU reference
// is `dense`), fp16 and bf16, causal and not. instantiate() loads cuDNN (cudnn_library.hpp), makes a
// handle on the context's stream, builds the graph and plan (sdpa_plan.hpp) and allocates the plan's
// workspace from the device pool; run() only executes the plan. A case no engine supports is
// `unsupported` with cuDNN's reason.
#include <memory>
#include <string>

#include "harness/core/errors.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/device_memory_model.hpp"
#ifdef SEABENCH_HAVE_CUDA
#include "attention_variants/dense_cudnn/cudnn_library.hpp"
#include "attention_variants/dense_cudnn/sdpa_plan.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_buffer.hpp"
#endif

namespace sb {
namespace {

#ifdef SEABENCH_HAVE_CUDA
/// A cuDNN handle bound to the context's stream, destroyed with the instance.
class cudnn_handle {
 public:
  cudnn_handle() {
    const cudnnStatus_t st = cudnn::library().create(&m_h);
    if (st != CUDNN_STATUS_SUCCESS) throw unsupported_case("dense_cudnn: cudnnCreate: " + cudnn::describe(st));
    const cudnnStatus_t bound = cudnn::library().set_stream(m_h, cuda::context::instance().stream());
    if (bound != CUDNN_STATUS_SUCCESS) {
      cudnn::library().destroy(m_h);
      throw unsupported_case("dense_cudnn: cudnnSetStream: " + cudnn::describe(bound));
    }
  }
  cudnn_handle(const cudnn_handle&) = delete;
  cudnn_handle& operator=(const cudnn_handle&) = delete;
  ~cudnn_handle() { cudnn::library().destroy(m_h); }
  [[nodiscard]] cudnnHandle_t get() const { return m_h; }

 private:
  cudnnHandle_t m_h = nullptr;
};

class dense_cudnn_instance final : public attention_instance {
 public:
  explicit dense_cudnn_instance(const problem& p)
      : m_plan(m_handle.get(), {.batch = p.batch, .heads = p.heads, .t = p.seq_len, .d = p.head_dim, .type = p.type,
                                .causal = p.causal, .scale = static_cast<float>(p.scale())}),
        m_workspace(static_cast<std::size_t>(m_plan.workspace_bytes())),
        m_version(cudnn::library().get_version()),
        m_causal(p.causal),
        m_t(p.seq_len) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    m_plan.execute(m_handle.get(), in.q, in.k, in.v, out, m_workspace.size() ? m_workspace.data() : nullptr);
    ctx.extras["cudnn_version"] = static_cast<double>(m_version);
    ctx.extras["keys_per_query"] = m_causal ? (m_t + 1) / 2.0 : m_t;
  }

 private:
  cudnn_handle m_handle;
  cudnn::sdpa_plan m_plan;
  cuda::device_buffer<std::uint8_t> m_workspace;
  std::size_t m_version;
  bool m_causal;
  int m_t;
};
#endif  // SEABENCH_HAVE_CUDA

class dense_cudnn_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "dense_cudnn"; }
  std::string_view description() const override {
    return "cuDNN's fused flash attention (backend graph API), fp16/bf16, GPU only: the vendor reference";
  }
  capabilities caps() const override {
    capabilities c;
    c.cpu = false;
    c.reference_variant = "dense";
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
#endif
    c.dtypes = {dtype::fp16, dtype::bf16};
    return c;
  }
  std::vector<std::string> extra_columns() const override { return {"cudnn_version"}; }
  /// The output only: the fused kernel keeps scores on chip, and the plan's workspace is made at set-up.
  std::size_t analytic_memory_bytes(const problem& p, const param_set&) const override {
    return p.qkv_elements() * dtype_bytes(p.type);
  }
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set& params) const override {
    return analytic_memory_bytes(p, params);
  }
  /// Flash kernels skip the key tiles a causal row cannot see, so executed ≈ dense-equivalent.
  flop_count flops(const problem& p, const param_set&) const override {
    return {dense_equivalent_flops(p), dense_equivalent_flops(p)};
  }
  std::optional<budget_setting> exact_setting(const problem&) const override { return budget_setting{}; }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set&,
                                                  device_kind device) const override {
    if (device != device_kind::cuda) throw unsupported_case("dense_cudnn runs on CUDA only; its CPU reference is dense");
#ifdef SEABENCH_HAVE_CUDA
    return std::make_unique<dense_cudnn_instance>(p);
#else
    (void)p;
    throw unsupported_case("dense_cudnn: this build has no CUDA");
#endif
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::dense_cudnn_variant)
