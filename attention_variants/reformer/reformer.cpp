// reformer: LSH attention (Kitaev et al., ICLR 2020) as the SEA paper ran it (reformer-pytorch
// `LSHAttention`, shared QK, bucket_size = k, n_hashes 8). The machinery is in lsh.hpp; this file is
// the variant: parameters, set-up (the random rotations), the memory and FLOP models, the support.
//
// Keys are the queries normalised to unit length (the K input is not read), and the score is
// τ·q_i·k̂_j with τ = 1/√D. Heads run one after another through one reused workspace, and the rounds
// are combined online, so a run holds the output plus O(n_hashes·T + c·D + c²) bytes.
// On CUDA (fp32, fp16, bf16; lsh_cuda.hpp) every head and round at once: hashing with the same host-drawn
// rotations, cub's segmented radix sort by (bucket, position), one warp per query row over its rounds;
// reformer_index_ms is then CUDA-event time of hashing and sorting on the untimed accuracy call.
#include <chrono>
#include <cmath>
#include <string>
#include <fmt/format.h>

#include "attention_variants/reformer/lsh.hpp"
#include "attention_variants/reformer/reformer_cuda.hpp"
#include "harness/core/errors.hpp"
#include "harness/cuda/device_memory_model.hpp"
#include "attention_variants/sparse_common/sparse_attend.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/variant.hpp"

namespace sb {
namespace {

lsh::config make_config(const problem& p, const param_set& params) {
  return lsh::make_config(p, params, p.k.value_or(64));
}

class reformer_instance final : public attention_instance {
 public:
  reformer_instance(const problem& p, const lsh::config& cfg)
      : m_p(p), m_cfg(cfg), m_rotations(cfg.rotation_count()) {
    lsh::draw_rotations(cfg, p.seed, m_rotations.data());
  }

  void run(qkv_view in, float* out, run_context& ctx) override {
    using clock = std::chrono::steady_clock;
    const std::size_t heads = static_cast<std::size_t>(m_p.batch) * m_p.heads;
    const std::size_t head_elems = static_cast<std::size_t>(m_p.seq_len) * m_p.head_dim;
    lsh::head_workspace ws(m_cfg);
    std::vector<std::int32_t> keys;
    clock::duration index_time{};
    if (ctx.support) sparse::clear_support(*ctx.support);
    for (std::size_t bh = 0; bh < heads; ++bh) {
      const float* q = in.q + bh * head_elems;
      const auto t0 = clock::now();
      lsh::build_index(m_cfg, m_rotations.data(), q, ws);
      index_time += clock::now() - t0;
      lsh::attend(m_cfg, q, in.v + bh * head_elems, ws, out + bh * head_elems, ws.lse());
      if (ctx.support)
        for (int i = 0; i < m_p.seq_len; ++i) {
          lsh::row_keys(m_cfg, ws, i, keys);
          sparse::append_support_row(*ctx.support, keys);
        }
    }
    ctx.extras["reformer_index_ms"] = std::chrono::duration<double, std::milli>(index_time).count();
    ctx.extras["reformer_n_buckets"] = m_cfg.n_buckets;
  }

 private:
  problem m_p;
  lsh::config m_cfg;
  tracked_buffer<float> m_rotations;  // [n_hashes, D, n_b/2], drawn once per case
};

class reformer_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "reformer"; }
  std::string_view description() const override {
    return "LSH attention, shared-QK (keys = unit-length queries, score q·k̂/√d): n_hashes rounds of "
           "random-rotation hashing, stable sort by (bucket, position), chunks of k attend to themselves and "
           "the previous chunk, self only when alone, rounds combined by logsumexp";
  }
  param_schema parameters() const override {
    return {
        {.name = "n_hashes", .type = param_type::integer, .default_value = std::int64_t{8},
         .help = "hashing rounds (SEA paper: 8; reformer-pytorch: 4 permissible, 8 best)", .min = 1.0, .max = 64.0},
        {.name = "dedup", .type = param_type::boolean, .default_value = true,
         .help = "count a (query, key) pair seen in several rounds once (subtract log #rounds from its score); "
                 "false = reformer-pytorch's allow_duplicate_attention default"},
        {.name = "bucket_rule", .type = param_type::text, .default_value = std::string("per_chunk"),
         .help = "buckets when n_buckets = 0: per_chunk n_b = 2·ceil(T/2k) (reformer-pytorch, the SEA paper), "
                 "half_chunk n_b = 2·ceil(T/k) (Kitaev et al.: n_b ≈ 2T/c)",
         .choices = {"per_chunk", "half_chunk"}},
        {.name = "n_buckets", .type = param_type::integer, .default_value = std::int64_t{0},
         .help = "buckets per round (even); 0 = from bucket_rule", .min = 0.0, .max = 1048576.0},
    };
  }
  capabilities caps() const override {
    capabilities c;
    c.uses_k = k_usage::bucket_size;
    c.k_meaning = "chunk length c in sorted order (= bucket size; each query sees ≤ 2c keys per round)";
    c.exposes_support = true;
    c.randomized = true;
    c.causal_canary_rel_tol = 0.0;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  std::vector<std::string> extra_columns() const override { return {"reformer_index_ms", "reformer_n_buckets"}; }
  std::optional<std::string> check(const problem& p, const param_set& params) const override {
    const auto nb = params.get_int("n_buckets");
    if (nb > 0 && (nb % 2 != 0 || nb < 2))
      return fmt::format("reformer needs an even n_buckets ≥ 2 (hash = argmax over [xR; −xR]), got {}", nb);
    if (p.k && *p.k < 1) return fmt::format("reformer needs k ≥ 1, got {}", *p.k);
    return std::nullopt;
  }
  std::size_t analytic_memory_bytes(const problem& p, const param_set& params) const override {
    return p.qkv_elements() * sizeof(float) + lsh::head_workspace::bytes(make_config(p, params));
  }
  /// CUDA: the output plus inverse norms, the sort's double buffers, the chunk index and offsets.
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set& params) const override {
#ifdef SEABENCH_HAVE_CUDA
    return p.qkv_elements() * dtype_bytes(p.type) + lsh::cuda_workspace_bytes(p, make_config(p, params));
#else
    return analytic_memory_bytes(p, params);
#endif
  }
  flop_count flops(const problem& p, const param_set& params) const override {
    const double heads = static_cast<double>(p.batch) * p.heads;
    return {dense_equivalent_flops(p), heads * lsh::flops_per_head(make_config(p, params))};
  }
  // One chunk covering the sequence gives shared-QK dense attention with the self rule, which is not
  // softmax(QKᵀ/√d)V, so no setting is exact; reformer_test.cpp checks that limit. The hash ladder
  // (error falls with n_hashes) is measured against shared-QK dense there too, since the error
  // against plain attention is dominated by the shared-QK substitution and need not fall.
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return lsh::make_cuda_instance(p, make_config(p, params));
#else
      throw unsupported_case("reformer: this build has no CUDA");
#endif
    }
    require_cpu_fp32("reformer", p);
    return std::make_unique<reformer_instance>(p, make_config(p, params));
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::reformer_variant)
