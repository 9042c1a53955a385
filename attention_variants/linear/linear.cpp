// linear: Katharopoulos et al. (ICML 2020) linear attention with the deterministic feature map
// φ(x) = elu(x) + 1 (m = d features), or the LRA "Performer" default relu(x) + 1e-3. Non-causal:
// o_i = φ(q_i)ᵀ(Σ_j φ(k_j)v_jᵀ) / φ(q_i)ᵀΣ_j φ(k_j); causal: the same with prefix sums, as a chunked
// scan with an fp32 state (favor::linear_scan). No random parts, no use of k.
// The CPU computes fp32; with CUDA the same variant runs on the GPU (linear_cuda.cpp) in fp32, fp16 and
// bf16.
#include <algorithm>
#include <cmath>
#include <string>

#include "attention_variants/linear/linear_cuda.hpp"
#include "attention_variants/linear/linear_features.hpp"
#include "attention_variants/performer/favor.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/device_memory_model.hpp"

namespace sb {
namespace {

/// Denominator guard: max(φ(q)·Σφ(k), ε) (baselines.md §3).
constexpr float den_floor = 1e-6f;

struct linear_config {
  linear_features::kind feature = linear_features::kind::elu;
  int chunk = 64;
};

linear_config make_config(const param_set& params) {
  linear_config c;
  c.feature = params.get_text("feature") == "relu" ? linear_features::kind::relu : linear_features::kind::elu;
  c.chunk = static_cast<int>(params.get_int("chunk"));
  return c;
}

int chunk_rows(const linear_config& c, int t) { return std::max(1, std::min(c.chunk, t)); }

class linear_instance final : public attention_instance {
 public:
  linear_instance(const problem& p, linear_config c) : m_p(p), m_c(c) {}

  void run(qkv_view in, float* out, run_context&) override {
    const int d = m_p.head_dim;
    favor::feature_map_attention(m_p, d, chunk_rows(m_c, m_p.seq_len), in, out, den_floor,
                                 [&](const float* x, int n, int, float* phi) {
                                   linear_features::apply(m_c.feature, x, static_cast<std::size_t>(n) * d, phi);
                                 });
  }

 private:
  problem m_p;
  linear_config m_c;
};

class linear_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "linear"; }
  std::string_view description() const override {
    return "linear attention with φ(x) = elu(x)+1 (Katharopoulos et al.); causal via an fp32 chunked prefix-sum scan";
  }
  param_schema parameters() const override {
    return {
        {.name = "feature", .type = param_type::text, .default_value = std::string("elu"),
         .help = "feature map: elu = elu(x)+1 (the paper), relu = relu(x)+1e-3 (LRA's deterministic 'Performer')",
         .choices = {"elu", "relu"}},
        {.name = "chunk", .type = param_type::integer, .default_value = std::int64_t{64},
         .help = "positions per causal scan chunk and per query block (does not change the result)", .min = 1.0,
         .max = 4096.0},
    };
  }
  capabilities caps() const override {
    capabilities c;
    c.uses_k = k_usage::none;
    c.k_meaning = "not used (m = d deterministic features)";
    c.causal_canary_rel_tol = 1e-6;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  std::size_t analytic_memory_bytes(const problem& p, const param_set& params) const override {
    const linear_config c = make_config(params);
    const int ch = chunk_rows(c, p.seq_len), d = p.head_dim;
    const std::size_t floats = favor::feature_map_attention_floats(d, d, ch, p.causal) + p.qkv_elements();
    return floats * sizeof(float);
  }
  /// fp32 features of Q and K, the non-causal state and numerators, the output (linear_cuda.cpp).
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set&) const override {
    return linear_cuda::linear_memory_bytes(p);
  }
  flop_count flops(const problem& p, const param_set& params) const override {
    const linear_config c = make_config(params);
    const int d = p.head_dim;
    const double per_head = favor::linear_scan::flops(p.seq_len, d, d, chunk_rows(c, p.seq_len), p.causal);
    return {dense_equivalent_flops(p), per_head * p.batch * p.heads};
  }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return linear_cuda::make_linear_instance(p, make_config(params).feature);
#else
      throw unsupported_case("linear: this build has no CUDA");
#endif
    }
    require_cpu_fp32("linear", p);
    return std::make_unique<linear_instance>(p, make_config(params));
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::linear_variant)
