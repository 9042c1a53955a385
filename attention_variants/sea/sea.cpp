// sea: SEA (Lee et al., ICLR 2024), the full inference pipeline on the CPU with every knob of the paper and
// the training-free estimator ablations of sea-algorithm.md §19. The stages live in their own files
// (estimators, learned_estimator, topk, flat_csr, sparse_attention, output_mix; pipeline runs them);
// this file is the variant's descriptor. docs/sea.md documents parameters, defaults and choices.
#include <algorithm>
#include <string>

#include "attention_variants/sea/pipeline.hpp"
#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/device_memory_model.hpp"
#ifdef SEABENCH_HAVE_CUDA
#include "attention_variants/sea/pipeline_cuda.hpp"
#endif

namespace sb {
namespace {

class sea_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "sea"; }
  std::string_view description() const override {
    return "SEA: estimated compressed attention (K bins per query), grouped top-k, upsampled FlatCSR mask, "
           "sparse attention (Lee et al., ICLR 2024)";
  }
  param_schema parameters() const override { return sea::parameter_schema(); }
  capabilities caps() const override {
    capabilities c;
    c.uses_k = k_usage::grouped_per_query;
    c.k_meaning = "per-head key budget: each query keeps about H*k keys shared by its heads (B_t = "
                  "round(H*k*K/L_t) compressed cells), at most k keys per cell on the csr path";
    c.exposes_support = true;
    c.randomized = true;  // performer_hist and performer draw random features (and untrained weights)
    c.causal_canary_rel_tol = 0.0;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  std::vector<std::string> extra_columns() const override { return sea::extra_column_names(); }
  std::optional<std::string> check(const problem& p, const param_set& params) const override {
    if (!p.k) return "sea needs a value of k";
    if (*p.k < 1) return "sea needs k >= 1";
    return sea::unsupported_reason(p, sea::make_config(p, params));
  }
  std::size_t analytic_memory_bytes(const problem& p, const param_set& params) const override {
    if (!p.k || *p.k < 1) return p.qkv_elements() * sizeof(float);
    return sea::memory_bytes(p, sea::make_config(p, params));
  }
  /// The GPU path keeps Â and the FlatCSR in device memory and writes the output in the case dtype
  /// (pipeline_cuda.hpp); without CUDA the CPU model stands in.
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set& params) const override {
#ifdef SEABENCH_HAVE_CUDA
    if (p.k && *p.k >= 1) {
      const sea::config c = sea::make_config(p, params);
      if (!sea::unsupported_reason(p, c) && c.estimator != sea::estimator_kind::performer &&
          c.topk != sea::topk_mode::batch)
        return sea::gpu::memory_bytes(p, c);
    }
#endif
    return analytic_memory_bytes(p, params);
  }
  flop_count flops(const problem& p, const param_set& params) const override {
    if (!p.k || *p.k < 1) return {dense_equivalent_flops(p), 0.0};
    return {dense_equivalent_flops(p), sea::executed_flops(p, sea::make_config(p, params))};
  }
  // With k = T every cell of every row is selected (B_t ≥ C_t) and no cell is clamped (every span ≤ T
  // keys), so the support is every visible key and output=sparse is exact softmax attention, whatever
  // the estimator.
  std::optional<budget_setting> exact_setting(const problem& p) const override {
    budget_setting s;
    s.params["output"] = std::string("sparse");
    s.k = p.seq_len;
    return s;
  }
  std::vector<budget_setting> budget_ladder(const problem& p) const override {
    std::vector<budget_setting> ladder;
    for (const int div : {16, 4, 1}) {
      const int k = std::max(1, p.seq_len / div);
      if (!ladder.empty() && *ladder.back().k >= k) continue;
      budget_setting s;
      s.params["output"] = std::string("sparse");
      s.k = k;
      ladder.push_back(s);
    }
    return ladder;
  }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return sea::gpu::make_instance(p, sea::make_config(p, params));
#else
      throw unsupported_case("sea: this build has no CUDA");
#endif
    }
    require_cpu_fp32("sea", p);
    return std::make_unique<sea::pipeline>(p, sea::make_config(p, params));
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::sea_variant)
