#include "attention_variants/sea/pipeline.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/learned_estimator.hpp"
#include "attention_variants/sea/output_mix.hpp"
#include "attention_variants/sea/sparse_attention.hpp"
#include "attention_variants/sea/topk.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"

namespace sb::sea {
namespace {

std::size_t sz(long long x) { return static_cast<std::size_t>(x); }
using clock = std::chrono::steady_clock;
double ms(clock::time_point a, clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

bool uses_gates(const config& c) { return c.output == output_mode::mix; }

struct buffer_sizes {
  std::size_t out, ahat, gates, mean, selection;
};
buffer_sizes sizes(const problem& p, const config& c) {
  const std::size_t bh = sz(p.batch) * p.heads, te = c.estimator_rows(p.seq_len);
  buffer_sizes s{};
  s.out = p.qkv_elements() * sizeof(float);
  s.ahat = bh * te * c.K * sizeof(float);
  s.gates = uses_gates(c) ? bh * te * 2 * sizeof(float) : 0;
  s.mean = uses_gates(c) && !p.causal ? bh * c.K * sizeof(float) : 0;
  s.selection = (sz(p.batch) * p.seq_len + 1) * sizeof(std::int64_t) + sz(selected_cells(p, c)) * sizeof(std::int32_t);
  return s;
}

}  // namespace

std::vector<std::string> extra_column_names() {
  return {"sea_estimate_ms",         "sea_topk_ms",           "sea_mask_ms",        "sea_attend_ms",
          "sea_mix_ms",              "sea_total_ms",          "sea_keys_per_query_mean", "sea_keys_per_query_max",
          "estimator_trained",       "sea_oracle_cell_mass"};
}

std::optional<std::string> unsupported_reason(const problem& p, const config& c) {
  if (p.causal && c.topk == topk_mode::batch)
    return "sea topk_mode=batch lets every query of a sample compete for one budget, future queries included; "
           "it is defined for non-causal attention only (use causal_batch or query)";
  if (c.output == output_mode::mix && (c.estimator != estimator_kind::performer || c.weights.empty()))
    return "sea output=mix needs trained gates (estimator=performer with a weights file); untrained or "
           "training-free estimators have no gates: use output=sparse";
  if (c.estimator == estimator_kind::performer) {
    const decoder_split s = row_decoder_split(p.causal);
    if (c.K % s.downscale != 0 || c.K < s.downscale)
      return fmt::format("sea estimator=performer needs K divisible by {} ({} row decoder), got K={}", s.downscale,
                         p.causal ? "causal" : "non-causal", c.K);
  }
  return std::nullopt;
}

std::size_t memory_bytes(const problem& p, const config& c) {
  const buffer_sizes s = sizes(p, c);
  const std::size_t csr = flat_csr_bytes(p, expected_nnz(p, c));
  const std::size_t bounds = (sz(c.K) + 1) * sizeof(int);
  const std::size_t estimate = s.ahat + s.gates + estimator_scratch_bytes(p, c);
  const std::size_t topk = s.ahat + s.gates + s.mean + topk_bytes(p, c);
  const std::size_t mask = s.gates + s.mean + s.selection + csr + bounds;
  const std::size_t attend = s.gates + s.mean + csr + sparse_attend_bytes(p);
  const std::size_t mix = uses_gates(c) ? s.gates + s.mean + csr + output_mix_bytes(p, c) : 0;
  return s.out + std::max({estimate, topk, mask, attend, mix});
}

double executed_flops(const problem& p, const config& c) {
  const double nnz = expected_nnz(p, c);
  const double cells = static_cast<double>(p.batch) * p.heads * c.estimator_rows(p.seq_len) * c.K;
  double f = estimator_flops(p, c);
  f += static_cast<double>(p.batch) * p.seq_len * p.heads * c.K * 2.0;  // top-k selection (compare + copy)
  f += nnz * (4.0 * p.head_dim + 5.0);                                  // SDDMM, softmax, SpMM
  if (uses_gates(c)) f += static_cast<double>(p.qkv_elements()) * 6.0 + (p.causal ? 0.0 : cells);
  return f;
}

double oracle_cell_mass(const problem& p, const config& c, qkv_view in, const flat_csr& csr) {
  const int T = p.seq_len, H = p.heads, d = p.head_dim, K = c.K;
  const int qb = std::min(oracle_query_block, T);
  tracked_buffer<float> scores(sz(qb) * T), exact(sz(qb) * K);
  tracked_buffer<int> bounds(sz(K) + 1);
  double total = 0;
  for (int b = 0; b < p.batch; ++b)
    for (int h = 0; h < H; ++h) {
      const std::size_t head = (sz(b) * H + h) * T * d;
      for (int t0 = 0; t0 < T; t0 += qb) {
        const int n = std::min(qb, T - t0);
        oracle_rows(p, c.upsample, K, in.q + head, in.k + head, t0, 1, n, scores.data(), bounds.data(), exact.data());
        for (int i = 0; i < n; ++i) {
          const int t = t0 + i;
          row_bounds(c.upsample, visible_keys(p.causal, T, t), K, bounds.data());
          int bin = -1;
          for (const std::int32_t j : csr.segment(sz(b) * T + t, h)) {
            if (bin >= 0 && j < bounds[sz(bin) + 1]) continue;  // same cell as the previous key
            bin = static_cast<int>(std::upper_bound(bounds.data(), bounds.data() + K + 1, j) - bounds.data()) - 1;
            total += exact[sz(i) * K + bin];
          }
        }
      }
    }
  return total / (static_cast<double>(p.batch) * H * T);
}

pipeline::pipeline(const problem& p, const config& c) : m_p(p), m_c(c) {
  if (auto why = unsupported_reason(p, c)) throw unsupported_case(*why);
  m_est = make_estimator(p, c);
}

void pipeline::run(qkv_view in, float* out, run_context& ctx) {
  const problem& p = m_p;
  const config& c = m_c;
  const buffer_sizes s = sizes(p, c);
  const bool gated = uses_gates(c);

  const auto t0 = clock::now();
  tracked_buffer<float> ahat(s.ahat / sizeof(float));
  tracked_buffer<float> gates(s.gates / sizeof(float));
  m_est->estimate(in, ahat.data(), gated ? gates.data() : nullptr);
  const auto t1 = clock::now();

  tracked_buffer<float> mean_ahat(s.mean / sizeof(float));
  if (s.mean) query_mean(p, c, ahat.data(), mean_ahat.data());
  const auto t1b = clock::now();

  selection sel = grouped_topk(p, c, ahat.data());
  ahat.reset();
  const auto t2 = clock::now();

  flat_csr csr = upsample(p, c, sel);
  sel.row_ptr.reset();
  sel.cells.reset();
  const auto t3 = clock::now();

  sparse_attend(p, c, in, csr, gated ? gates.data() : nullptr, out);
  const auto t4 = clock::now();

  if (gated) output_mix(p, c, in, gates.data(), mean_ahat.data(), out);
  const auto t5 = clock::now();

  ctx.extras["sea_estimate_ms"] = ms(t0, t1);
  ctx.extras["sea_topk_ms"] = ms(t1b, t2);
  ctx.extras["sea_mask_ms"] = ms(t2, t3);
  ctx.extras["sea_attend_ms"] = ms(t3, t4);
  ctx.extras["sea_mix_ms"] = ms(t1, t1b) + ms(t4, t5);
  ctx.extras["sea_total_ms"] = ms(t0, t5);
  const mask_stats m = mask_statistics(csr);
  ctx.extras["sea_keys_per_query_mean"] = m.keys_per_query_mean;
  ctx.extras["sea_keys_per_query_max"] = static_cast<double>(m.keys_per_query_max);
  ctx.extras["estimator_trained"] = m_est->trained() ? 1.0 : 0.0;
  if (ctx.support) {
    to_attention_support(csr, *ctx.support);
    ctx.extras["sea_oracle_cell_mass"] = oracle_cell_mass(p, c, in, csr);
  }
}

}  // namespace sb::sea
