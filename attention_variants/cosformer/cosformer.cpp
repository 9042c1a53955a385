// cosformer: cosFormer linear attention (Qin et al., ICLR 2022). ReLU features re-weighted by
// cos(π/2·(i−j)/M) through the 2d-feature decomposition in cosformer_features.hpp, with M = T (the
// official max(src_len, tgt_len) for self-attention). o_i = φ(q_i)ᵀ(Σ_j φ(k_j)v_jᵀ) / max(φ(q_i)ᵀΣ_j φ(k_j),
// 1e-6); causal with prefix sums as a chunked scan with a [2d, d] fp32 state (the SEA repo's port
// materialises [N·h, L, 2d, d] cumulative sums instead). No extra projections, no random parts, no k.
// The CPU computes fp32; with CUDA the same variant runs on the GPU (cosformer_cuda.cpp) in fp32, fp16
// and bf16.
#include <algorithm>
#include <string>

#include "attention_variants/cosformer/cosformer_cuda.hpp"
#include "attention_variants/cosformer/cosformer_features.hpp"
#include "attention_variants/performer/favor.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/device_memory_model.hpp"

namespace sb {
namespace {

constexpr float den_floor = 1e-6f;  // the official clamp_min(denom, eps)

int chunk_rows(const param_set& params, int t) {
  return std::max(1, std::min(static_cast<int>(params.get_int("chunk")), t));
}

class cosformer_instance final : public attention_instance {
 public:
  cosformer_instance(const problem& p, int chunk) : m_p(p), m_chunk(chunk) {}

  void run(qkv_view in, float* out, run_context&) override {
    const int t = m_p.seq_len, d = m_p.head_dim;
    favor::feature_map_attention(m_p, 2 * d, m_chunk, in, out, den_floor,
                                 [&](const float* x, int n, int pos, float* phi) {
                                   cosformer::features(x, d, n, d, pos, t, phi);
                                 });
  }

 private:
  problem m_p;
  int m_chunk;
};

class cosformer_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "cosformer"; }
  std::string_view description() const override {
    return "cosFormer: ReLU features with cos(π/2·(i−j)/T) re-weighting (2d features); causal via an fp32 chunked scan";
  }
  param_schema parameters() const override {
    return {
        {.name = "chunk", .type = param_type::integer, .default_value = std::int64_t{64},
         .help = "positions per causal scan chunk and per query block (does not change the result)", .min = 1.0,
         .max = 4096.0},
    };
  }
  capabilities caps() const override {
    capabilities c;
    c.uses_k = k_usage::none;
    c.k_meaning = "not used (2d deterministic features)";
    c.causal_canary_rel_tol = 1e-6;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  std::size_t analytic_memory_bytes(const problem& p, const param_set& params) const override {
    const int ch = chunk_rows(params, p.seq_len), d = p.head_dim;
    const std::size_t floats = favor::feature_map_attention_floats(2 * d, d, ch, p.causal) + p.qkv_elements();
    return floats * sizeof(float);
  }
  /// fp32 2d-features of Q and K, the non-causal state and numerators, the output (cosformer_cuda.cpp).
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set&) const override {
    return cosformer_cuda::memory_bytes(p);
  }
  flop_count flops(const problem& p, const param_set& params) const override {
    const int d = p.head_dim;
    const double per_head =
        favor::linear_scan::flops(p.seq_len, 2 * d, d, chunk_rows(params, p.seq_len), p.causal) +
        2.0 * 2.0 * p.seq_len * d;  // sin/cos re-weighting of q and k features
    return {dense_equivalent_flops(p), per_head * p.batch * p.heads};
  }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return cosformer_cuda::make_instance(p);
#else
      throw unsupported_case("cosformer: this build has no CUDA");
#endif
    }
    require_cpu_fp32("cosformer", p);
    return std::make_unique<cosformer_instance>(p, chunk_rows(params, p.seq_len));
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::cosformer_variant)
