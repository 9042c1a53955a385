// dense_flash: exact softmax attention by the fused tensor-core kernel of flash_kernel.cuh (mma.sync,
// ldmatrix, cp.async double buffering, swizzled shared memory, online softmax in registers). GPU
// only: fp16 and bf16 inputs with fp32 accumulation, head dimensions 64 and 128, causal or not, any
// T. Its CPU reference is dense_stream (the same online-softmax recurrence in fp32). Memory above
// the inputs: the output only.
#include <string>

#include "attention_variants/dense_flash/dense_flash_tiles.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/device_memory_model.hpp"
#ifdef SEABENCH_HAVE_CUDA
#include "attention_variants/dense_flash/dense_flash_kernels.hpp"
#include "harness/cuda/cuda_context.hpp"
#endif

namespace sb {
namespace {

#ifdef SEABENCH_HAVE_CUDA
class dense_flash_cuda_instance final : public attention_instance {
 public:
  explicit dense_flash_cuda_instance(const problem& p) : m_p(p) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const int t = m_p.seq_len;
    ctx.extras["keys_per_query"] = m_p.causal ? (t + 1) / 2.0 : t;  // every visible key
    dense_flash_cuda::launch_flash_attention(in.q, in.k, in.v, out, m_p.type,
                                             static_cast<std::int64_t>(m_p.batch) * m_p.heads, t, m_p.head_dim,
                                             m_p.causal, static_cast<float>(m_p.scale()),
                                             cuda::context::instance().stream());
  }

 private:
  problem m_p;
};
#endif

class dense_flash_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "dense_flash"; }
  std::string_view description() const override {
    return "exact attention, fused tensor-core kernel (mma.sync, online softmax): GPU only, fp16/bf16, D 64 or 128";
  }
  capabilities caps() const override {
    capabilities c;
    c.cpu = false;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
#endif
    c.dtypes = {dtype::fp16, dtype::bf16};
    c.reference_variant = "dense_stream";
    return c;
  }
  std::optional<std::string> check(const problem& p, const param_set&) const override {
    if (p.head_dim != 64 && p.head_dim != 128)
      return "dense_flash supports head_dim 64 and 128 (compiled tile shapes), not " + std::to_string(p.head_dim);
    if (p.type == dtype::fp32) return std::string("dense_flash computes on fp16 or bf16 tensor cores, not fp32");
    return std::nullopt;
  }
  /// There is no CPU path; both models are the device's: the output in the case dtype, nothing else
  /// (tiles live in shared memory and registers).
  std::size_t analytic_memory_bytes(const problem& p, const param_set& params) const override {
    return cuda_analytic_memory_bytes(p, params);
  }
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set&) const override {
    return p.qkv_elements() * dtype_bytes(p.type);
  }
  /// dense_equiv: FlashAttention's 4·B·H·T²·D (halved when causal). Executed: the tiles the kernel
  /// computes, padding of the last query block and key tile included, diagonal tiles in full.
  flop_count flops(const problem& p, const param_set&) const override {
    const double tile_flops = 4.0 * dense_flash_tiles::query_block * dense_flash_tiles::key_block * p.head_dim;
    const double executed =
        static_cast<double>(p.batch) * p.heads * dense_flash_tiles::computed_tile_pairs(p.seq_len, p.causal) * tile_flops;
    return {dense_equivalent_flops(p), executed};
  }
  std::optional<budget_setting> exact_setting(const problem&) const override { return budget_setting{}; }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (device == device_kind::cpu)
      throw unsupported_case("dense_flash has no CPU implementation (its CPU reference is dense_stream)");
    if (auto reason = check(p, params)) throw unsupported_case(*reason);
#ifdef SEABENCH_HAVE_CUDA
    return std::make_unique<dense_flash_cuda_instance>(p);
#else
    throw unsupported_case("dense_flash: this build has no CUDA");
#endif
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::dense_flash_variant)
