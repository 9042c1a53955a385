// scatterbrain: sparse (Reformer LSH) + low-rank (Performer) attention.
//   combine = sum (default): o = o_Reformer + o_Performer, a plain sum with no correction and no joint
//     normalisation, as the SEA paper ran it for BERT (baselines.md §10). The Reformer part is the
//     `reformer` variant's computation (shared-QK, n_hashes rounds, chunk = k), the Performer part the
//     `performer` variant's (FAVOR+ or ReLU features).
//   combine = corrected: Chen et al.'s combination (corrected.hpp): the Performer estimate everywhere,
//     replaced by the exact kernel on the Reformer's LSH support, so no pair is counted twice and the
//     row is normalised jointly. Softmax kernel only.
// The CPU computes fp32; with CUDA both modes run on the GPU (scatterbrain_cuda.hpp) in fp32, fp16, bf16.
#include <algorithm>
#include <cmath>
#include <span>
#include <string>

#include <fmt/format.h>

#include "attention_variants/performer/favor.hpp"
#include "attention_variants/reformer/lsh.hpp"
#include "attention_variants/scatterbrain/corrected.hpp"
#include "attention_variants/scatterbrain/scatterbrain_cuda.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/device_memory_model.hpp"

namespace sb {
namespace {

struct scatterbrain_config {
  bool corrected = false;
  lsh::config lsh;
  int m = 0;
  favor::settings s;
  favor::row_norms norms = favor::row_norms::chi;
};

scatterbrain_config make_config(const problem& p, const param_set& params) {
  scatterbrain_config c;
  c.corrected = params.get_text("combine") == "corrected";
  c.lsh = lsh::make_config(p, params, std::max(1, p.k.value_or(64)));
  c.m = favor::features_from_params(p, params);
  c.s.kernel = favor::kernel_from_string(params.get_text("kernel")).value_or(favor::kernel_kind::softmax);
  c.s.causal = p.causal;
  c.s.chunk = static_cast<int>(params.get_int("scan_chunk"));
  c.norms = params.get_int("ortho_scaling") == 0 ? favor::row_norms::chi : favor::row_norms::sqrt_d;
  return c;
}

#ifdef SEABENCH_HAVE_CUDA
scatterbrain_cuda::settings cuda_settings(const scatterbrain_config& c) {
  return {.corrected = c.corrected, .lsh = c.lsh, .features = c.m, .kernel = c.s.kernel, .norms = c.norms};
}
#endif

/// Slots for one row's support: every round's window plus the row itself.
std::size_t support_capacity(const lsh::config& l) {
  return static_cast<std::size_t>(l.n_hashes) * l.max_window() + 1;
}

/// Row i's support for the corrected combination: the union over rounds of the keys in its own and
/// previous chunk that it may see (lsh::row_keys), plus i itself (with the real keys there is no reason
/// to exclude the diagonal, which shared-QK Reformer does only because q·q̂ always dominates).
std::span<const std::int32_t> lsh_support(const lsh::config& l, const lsh::head_workspace& ws, int i,
                                          std::int32_t* slots) {
  std::size_t n = 0;
  for (int r = 0; r < l.n_hashes; ++r) {
    const std::int32_t* sorted = ws.sorted(r);
    const int ch = ws.chunk_of(r, i);
    for (int which = 0; which < 2; ++which) {
      const int c = which == 0 ? ch : l.prev_chunk(ch);
      if (c < 0) continue;
      for (int s = l.chunk_begin(c); s < l.chunk_end(c); ++s) {
        const std::int32_t j = sorted[s];
        if (!l.causal || j <= i) slots[n++] = j;
      }
    }
  }
  slots[n++] = i;
  std::sort(slots, slots + n);
  n = static_cast<std::size_t>(std::unique(slots, slots + n) - slots);
  return {slots, n};
}

class scatterbrain_instance final : public attention_instance {
 public:
  scatterbrain_instance(const problem& p, const scatterbrain_config& c)
      : m_p(p),
        m_c(c),
        m_rotations(c.lsh.rotation_count()),
        m_w(favor::draw_projection(p.seed, c.m, p.head_dim, {.orthogonal = true, .norms = c.norms})) {
    lsh::draw_rotations(c.lsh, p.seed, m_rotations.data());
  }

  void run(qkv_view in, float* out, run_context& ctx) override {
    const int t = m_p.seq_len, d = m_p.head_dim;
    const std::size_t heads = static_cast<std::size_t>(m_p.batch) * m_p.heads;
    const std::size_t head_elems = static_cast<std::size_t>(t) * d;
    lsh::head_workspace lws(m_c.lsh);
    if (m_c.corrected) {
      scatterbrain::corrected_workspace cws(m_c.m, t, d, m_c.s.chunk, m_p.causal);
      tracked_buffer<std::int32_t> slots(support_capacity(m_c.lsh));
      std::int64_t pairs = 0;
      for (std::size_t bh = 0; bh < heads; ++bh) {
        const std::size_t off = bh * head_elems;
        lsh::build_index(m_c.lsh, m_rotations.data(), in.q + off, lws);
        pairs += scatterbrain::corrected_head(
            m_w, m_c.s.feature_eps(), m_p.causal,
            {.q = in.q + off, .ldq = d, .k = in.k + off, .ldk = d, .v = in.v + off, .ldv = d, .out = out + off,
             .ldo = d, .t = t, .dv = d},
            [&](int i) { return lsh_support(m_c.lsh, lws, i, slots.data()); }, cws);
      }
      ctx.extras["scatterbrain_exact_keys_per_query"] = static_cast<double>(pairs) / static_cast<double>(m_p.rows());
    } else {
      favor::workspace fws(m_c.m, m_c.s, t, d);
      tracked_buffer<float> low_rank(head_elems);
      for (std::size_t bh = 0; bh < heads; ++bh) {
        const std::size_t off = bh * head_elems;
        lsh::build_index(m_c.lsh, m_rotations.data(), in.q + off, lws);
        lsh::attend(m_c.lsh, in.q + off, in.v + off, lws, out + off, lws.lse());
        favor::attend(m_w, m_c.s,
                      {.q = in.q + off, .ldq = d, .k = in.k + off, .ldk = d, .v = in.v + off, .ldv = d,
                       .out = low_rank.data(), .ldo = d, .t = t, .dv = d},
                      fws);
        float* o = out + off;
        for (std::size_t x = 0; x < head_elems; ++x) o[x] += low_rank[x];
      }
      ctx.extras["scatterbrain_exact_keys_per_query"] = 0.0;
    }
    ctx.extras["performer_features"] = m_c.m;
  }

 private:
  problem m_p;
  scatterbrain_config m_c;
  tracked_buffer<float> m_rotations;  // LSH rotations, drawn once per case (rng_stream::hashes)
  favor::projection m_w;              // Performer projection, drawn once per case (rng_stream::features)
};

class scatterbrain_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "scatterbrain"; }
  std::string_view description() const override {
    return "Reformer LSH (sparse) + Performer (low rank): combine=sum adds the two outputs as the SEA paper did; "
           "combine=corrected swaps the Performer estimate for the exact kernel on the LSH support (Chen et al.)";
  }
  param_schema parameters() const override {
    return {
        {.name = "combine", .type = param_type::text, .default_value = std::string("sum"),
         .help = "sum = o_Reformer + o_Performer, no correction (the SEA paper's use); corrected = Performer off "
                 "the LSH support, exact kernel on it, one normalisation (Chen et al.)",
         .choices = {"sum", "corrected"}},
        {.name = "n_hashes", .type = param_type::integer, .default_value = std::int64_t{8},
         .help = "LSH rounds (the SEA paper's Reformer: 8)", .min = 1.0, .max = 64.0},
        {.name = "dedup", .type = param_type::boolean, .default_value = true,
         .help = "Reformer part: count a pair seen in several rounds once (see reformer)"},
        {.name = "bucket_rule", .type = param_type::text, .default_value = std::string("per_chunk"),
         .help = "buckets when n_buckets = 0: per_chunk 2·ceil(T/2k) (reformer-pytorch), half_chunk 2·ceil(T/k)",
         .choices = {"per_chunk", "half_chunk"}},
        {.name = "n_buckets", .type = param_type::integer, .default_value = std::int64_t{0},
         .help = "LSH buckets per round (even); 0 = from bucket_rule", .min = 0.0, .max = 1048576.0},
        {.name = "features", .type = param_type::integer, .default_value = std::int64_t{0},
         .help = "Performer random features m; 0 = floor(d·ln d / nbf)", .min = 0.0, .max = 65536.0},
        {.name = "nbf", .type = param_type::integer, .default_value = std::int64_t{1},
         .help = "Performer feature divisor (the SEA paper: 1, 2, 4, 8)", .min = 1.0, .max = 1024.0},
        {.name = "kernel", .type = param_type::text, .default_value = std::string("softmax"),
         .help = "Performer kernel: softmax (FAVOR+) or relu; corrected needs softmax", .choices = {"softmax", "relu"}},
        {.name = "ortho_scaling", .type = param_type::integer, .default_value = std::int64_t{0},
         .help = "Performer row norms: 0 = χ_d, 1 = √d", .min = 0.0, .max = 1.0},
        {.name = "scan_chunk", .type = param_type::integer, .default_value = std::int64_t{64},
         .help = "Performer query block / causal scan chunk (does not change the result)", .min = 1.0, .max = 4096.0},
    };
  }
  capabilities caps() const override {
    capabilities c;
    c.uses_k = k_usage::bucket_size;
    c.k_meaning = "Reformer chunk length c (= bucket size); the Performer part has no k";
    c.randomized = true;
    c.causal_canary_rel_tol = 1e-6;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  std::vector<std::string> extra_columns() const override {
    return {"scatterbrain_exact_keys_per_query", "performer_features"};
  }
  std::optional<std::string> check(const problem& p, const param_set& params) const override {
    if (auto why = favor::features_unsupported_reason(p, params)) return why;
    const auto nb = params.get_int("n_buckets");
    if (nb > 0 && (nb % 2 != 0 || nb < 2))
      return fmt::format("scatterbrain needs an even n_buckets ≥ 2 (hash = argmax over [xR; −xR]), got {}", nb);
    if (p.k && *p.k < 1) return fmt::format("scatterbrain needs k ≥ 1, got {}", *p.k);
    if (params.get_text("combine") == "corrected" && params.get_text("kernel") != "softmax")
      return std::string("combine=corrected needs kernel=softmax (the exact term is exp of the score)");
    return std::nullopt;
  }
  std::size_t analytic_memory_bytes(const problem& p, const param_set& params) const override {
    const scatterbrain_config c = make_config(p, params);
    const int t = p.seq_len, d = p.head_dim;
    std::size_t bytes = p.qkv_elements() * sizeof(float) + lsh::head_workspace::bytes(c.lsh);
    if (c.corrected)
      bytes += scatterbrain::corrected_workspace::bytes(c.m, t, d, c.s.chunk, p.causal) +
               support_capacity(c.lsh) * sizeof(std::int32_t);
    else
      bytes += favor::workspace::bytes(c.m, c.s, t, d) + static_cast<std::size_t>(t) * d * sizeof(float);
    return bytes;
  }
  /// CUDA: scatterbrain_cuda::memory_bytes (output included).
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set& params) const override {
#ifdef SEABENCH_HAVE_CUDA
    return scatterbrain_cuda::memory_bytes(p, cuda_settings(make_config(p, params)));
#else
    return analytic_memory_bytes(p, params);
#endif
  }
  flop_count flops(const problem& p, const param_set& params) const override {
    const scatterbrain_config c = make_config(p, params);
    const int t = p.seq_len, d = p.head_dim;
    const double heads = static_cast<double>(p.batch) * p.heads;
    const double low_rank = favor::attend_flops(c.m, d, c.s, t, d);
    double per_head = 0;
    if (c.corrected) {
      // Hashing, plus per exact pair: q·k (2d), φq·φk (2m), the value update (2d). The union support
      // is data-dependent; this counts every round's window once per row (an upper bound on it),
      // capped by the visible keys.
      const double hashing = static_cast<double>(c.lsh.n_hashes) * t * d * c.lsh.n_buckets;
      const double visible = p.causal ? (t + 1) / 2.0 : t;
      const double per_row = std::min(visible, c.lsh.n_hashes * static_cast<double>(c.lsh.pairs_per_round()) / t);
      per_head = hashing + low_rank + t * per_row * (4.0 * d + 2.0 * c.m);
    } else {
      per_head = lsh::flops_per_head(c.lsh) + low_rank + static_cast<double>(t) * d;
    }
    return {dense_equivalent_flops(p), heads * per_head};
  }
  std::optional<budget_setting> exact_setting(const problem& p) const override {
    // corrected with one Reformer chunk covering the sequence: every visible key is on the support.
    return budget_setting{.params = {{"combine", std::string("corrected")}, {"kernel", std::string("softmax")}},
                          .k = p.seq_len};
  }
  std::vector<budget_setting> budget_ladder(const problem& p) const override {
    // corrected: a longer chunk puts more pairs on the exact support. (sum has no budget that makes
    // it converge: it adds two normalised outputs.)
    std::vector<budget_setting> ladder;
    int last = 0;
    for (int div : {16, 4, 1}) {
      const int k = std::max(1, p.seq_len / div);
      if (k == last) continue;
      last = k;
      ladder.push_back({.params = {{"combine", std::string("corrected")}, {"kernel", std::string("softmax")}},
                        .k = k});
    }
    return ladder;
  }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (auto why = check(p, params)) throw unsupported_case(*why);
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return scatterbrain_cuda::make_instance(p, cuda_settings(make_config(p, params)));
#else
      throw unsupported_case("scatterbrain: this build has no CUDA");
#endif
    }
    require_cpu_fp32("scatterbrain", p);
    return std::make_unique<scatterbrain_instance>(p, make_config(p, params));
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::scatterbrain_variant)
