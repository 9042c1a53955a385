// oracle_topk_grouped: SEA's grouped-selection upper bound. For each (batch, query), all heads
// compete for one budget of min(H·k, H·L_i) keys (L_i = visible keys: i+1 causal, else T), ranked by
// the exact softmax probability p^h_ij = exp(s^h_ij − lse^h_i), since heads have different
// normalisers. Ranking uses the log-probability s − lse (fp64), which orders like p without
// exp underflow creating false ties; ties: lower key index, then lower head. Each head then attends
// its own selected keys with a softmax over them; a head that got none outputs 0 (the harness's
// mass_recall counts its mass as 0). Quadratic scoring: a bound, not a speed contender.
// On CUDA (fp32, fp16, bf16; sparse_common/oracle_tiles.hpp): a cuBLAS score tile for every head at
// once, one thread block per (batch, query) computing each head's lse and a radix select over the
// fp64 log-probabilities (same pairs as the CPU, ties included), then the shared row kernel.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "attention_variants/sparse_common/oracle_tiles.hpp"
#include "attention_variants/sparse_common/sparse_attend.hpp"
#include "harness/cuda/device_memory_model.hpp"
#ifdef SEABENCH_HAVE_CUDA
#include "attention_variants/sparse_common/topk_select_cuda.hpp"
#include "harness/cuda/cuda_context.hpp"
#endif
#include "harness/core/blas.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/variant.hpp"

namespace sb {
namespace {

constexpr int query_block = 32;  // queries scored per GEMM tile (for every head at once)

int tile_rows(const problem& p) { return std::min(query_block, p.seq_len); }
/// Most keys one head can get in one row: the whole budget, but never more than T.
std::size_t max_head_keys(const problem& p) {
  return static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(p.heads) * p.k.value_or(1),
                                                         p.seq_len));
}

class oracle_topk_grouped_instance final : public attention_instance {
 public:
  explicit oracle_topk_grouped_instance(const problem& p) : m_p(p) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const int t = m_p.seq_len, d = m_p.head_dim, nh = m_p.heads;
    const std::int64_t k = *m_p.k;
    const float tau = static_cast<float>(m_p.scale());
    const std::size_t head_elems = static_cast<std::size_t>(t) * d;
    const int bq = tile_rows(m_p);
    const std::size_t tile_elems = static_cast<std::size_t>(bq) * t;
    tracked_buffer<float> tile(static_cast<std::size_t>(nh) * tile_elems);  // [H, bq, T] scores
    tracked_buffer<double> logp(static_cast<std::size_t>(nh) * t);       // log-probabilities, one query
    tracked_buffer<double> work(static_cast<std::size_t>(nh) * t);        // selection workspace
    tracked_buffer<std::uint8_t> tie_taken(static_cast<std::size_t>(nh) * t);  // pairs taken at the threshold
    tracked_buffer<std::int32_t> cand(static_cast<std::size_t>(nh) * t);    // selected keys, per-head segments
    tracked_buffer<std::int32_t> count(nh);
    tracked_buffer<float> row_scores(max_head_keys(m_p));
    std::vector<std::vector<std::int32_t>> sup_rows;
    if (ctx.support) sup_rows.resize(m_p.rows());

    for (int b = 0; b < m_p.batch; ++b) {
      const std::size_t b_off = static_cast<std::size_t>(b) * nh * head_elems;
      for (int q0 = 0; q0 < t; q0 += bq) {
        const int nq = std::min(bq, t - q0);
        const int key_end = m_p.causal ? q0 + nq : t;
        for (int h = 0; h < nh; ++h) {
          const std::size_t base = b_off + static_cast<std::size_t>(h) * head_elems;
          blas::sgemm(false, true, nq, key_end, d, tau, in.q + base + static_cast<std::size_t>(q0) * d, d,
                      in.k + base, d, 0.0f, tile.data() + h * tile_elems, key_end);
        }
        for (int r = 0; r < nq; ++r) {
          const int i = q0 + r;
          const int len = m_p.causal ? i + 1 : t;  // visible keys L_i
          auto score = [&](int h) { return tile.data() + h * tile_elems + static_cast<std::size_t>(r) * key_end; };
          // Log-probabilities of all H·L_i (head, key) pairs, indexed h·L_i + j.
          for (int h = 0; h < nh; ++h) {
            const float* s = score(h);
            const float mx = *std::max_element(s, s + len);
            double sum = 0;
            for (int j = 0; j < len; ++j) sum += std::exp(s[j] - mx);
            const double lse = mx + std::log(sum);
            double* lp = logp.data() + static_cast<std::size_t>(h) * len;
            for (int j = 0; j < len; ++j) lp[j] = static_cast<double>(s[j]) - lse;
          }
          // Keep the best min(H·k, H·L_i) pairs: find the budget-th largest log-probability θ, take
          // every pair above it, and as many pairs at exactly θ as fit, in (key, head) order.
          const int n = nh * len;
          const int budget = static_cast<int>(std::min<std::int64_t>(static_cast<std::int64_t>(nh) * k, n));
          const double* lp = logp.data();
          double theta = -std::numeric_limits<double>::infinity();
          bool all_ties = true;  // every pair at θ is taken
          if (budget < n) {
            theta = sparse::kth_largest(lp, n, budget, work.data());
            int above = 0, equal = 0;
            for (int c = 0; c < n; ++c) {
              above += lp[c] > theta;
              equal += lp[c] == theta;
            }
            int ties = budget - above;
            all_ties = ties == equal;
            if (!all_ties) {
              std::fill_n(tie_taken.data(), n, std::uint8_t{0});
              for (int j = 0; j < len && ties > 0; ++j)
                for (int h = 0; h < nh && ties > 0; ++h)
                  if (lp[h * len + j] == theta) {
                    tie_taken[h * len + j] = 1;
                    --ties;
                  }
            }
          }
          // Per head, its selected keys in ascending order, head segments one after another.
          int m = 0;
          for (int h = 0; h < nh; ++h) {
            const double* lph = lp + static_cast<std::size_t>(h) * len;
            count[h] = 0;
            for (int j = 0; j < len; ++j)
              if (lph[j] > theta || (lph[j] == theta && (all_ties || tie_taken[h * len + j]))) {
                cand[m++] = j;
                ++count[h];
              }
          }
          int begin = 0;
          for (int h = 0; h < nh; ++h) {
            const std::span<const std::int32_t> keys(cand.data() + begin, static_cast<std::size_t>(count[h]));
            begin += count[h];
            const std::size_t base = b_off + static_cast<std::size_t>(h) * head_elems;
            const std::size_t off = static_cast<std::size_t>(i) * d;
            sparse::attend_row(in.q + base + off, in.k + base, in.v + base, d, tau, keys, row_scores.data(),
                               out + base + off);
            if (ctx.support)
              sup_rows[(static_cast<std::size_t>(b) * nh + h) * t + i].assign(keys.begin(), keys.end());
          }
        }
      }
    }
    if (ctx.support) {
      sparse::clear_support(*ctx.support);
      for (const auto& row : sup_rows) sparse::append_support_row(*ctx.support, row);
    }
  }

 private:
  problem m_p;
};

#ifdef SEABENCH_HAVE_CUDA
class oracle_topk_grouped_cuda_instance final : public attention_instance {
 public:
  explicit oracle_topk_grouped_cuda_instance(const problem& p) : m_p(p) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const std::int64_t k = *m_p.k;
    const auto stride = static_cast<std::int64_t>(max_head_keys(m_p));
    const cudaStream_t stream = cuda::context::instance().stream();
    auto select = [&](const sparse::tile_selection& t) {
      sparse::cuda_kernels::score_tile s{t.scores, m_p.batch, m_p.heads, m_p.seq_len, t.q0, t.nq, t.ld, m_p.causal};
      sparse::cuda_kernels::launch_grouped_topk_rows(s, k, t.cols, t.counts, stride, stream);
    };
    m_pass.run(m_p, in, out, stride, select, ctx.support);
  }

 private:
  problem m_p;
  sparse::oracle_pass m_pass;
};
#endif

/// Σ over one batch element's queries of the shared budget min(H·k, H·L_i).
double selected_pairs_per_batch(const problem& p) {
  const double hk = static_cast<double>(p.heads) * p.k.value_or(1);
  double s = 0;
  for (int i = 0; i < p.seq_len; ++i) s += std::min(hk, static_cast<double>(p.heads) * (p.causal ? i + 1 : p.seq_len));
  return s;
}

class oracle_topk_grouped_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "oracle_topk_grouped"; }
  std::string_view description() const override {
    return "exact top-(H*k) (head, key) pairs per query by softmax probability, heads sharing one budget (SEA's "
           "grouped-selection upper bound); each head softmaxes over its own keys, a head with none outputs 0; "
           "scores every pair: a bound, not a speed contender";
  }
  capabilities caps() const override {
    capabilities c;
    c.uses_k = k_usage::grouped_per_query;
    c.k_meaning = "H*k keys per query shared by all heads (causal: min(H*k, H*(i+1)))";
    c.exposes_support = true;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  std::optional<std::string> check(const problem& p, const param_set&) const override {
    if (p.k && *p.k < 1) return fmt::format("oracle_topk_grouped needs k >= 1 (got {})", *p.k);
    if (static_cast<std::int64_t>(p.heads) * p.seq_len > std::numeric_limits<std::int32_t>::max())
      return std::string("oracle_topk_grouped: H*T must fit in 32 bits");
    return std::nullopt;
  }
  std::size_t analytic_memory_bytes(const problem& p, const param_set&) const override {
    const std::size_t t = p.seq_len, nh = p.heads;
    return p.qkv_elements() * sizeof(float) + nh * static_cast<std::size_t>(tile_rows(p)) * t * sizeof(float) +
           nh * t * (2 * sizeof(double) + sizeof(std::uint8_t) + sizeof(std::int32_t)) + nh * sizeof(std::int32_t) +
           sparse::attend_rows_scratch_bytes(max_head_keys(p));
  }
  /// CUDA: output, one [B·H, rows, T] fp32 score tile, the tile's key lists (min(H·k, T) per head
  /// and query) and counts.
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set&) const override {
    return sparse::oracle_cuda_bytes(p, static_cast<std::int64_t>(max_head_keys(p)));
  }
  flop_count flops(const problem& p, const param_set&) const override {
    const double d = p.head_dim;
    const double scoring = 2.0 * d * sparse::blockwise_scored_pairs(p.seq_len, tile_rows(p), p.causal) *
                           static_cast<double>(p.batch) * p.heads;
    const double attend = 2.0 * selected_pairs_per_batch(p) * p.batch * (2.0 * d);
    return {dense_equivalent_flops(p), scoring + attend};
  }
  std::optional<budget_setting> exact_setting(const problem& p) const override {
    return budget_setting{{}, p.seq_len};
  }
  std::vector<budget_setting> budget_ladder(const problem& p) const override { return sparse::oracle_budget_ladder(p); }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (auto why = check(p, params)) throw unsupported_case(*why);
    if (!p.k) throw unsupported_case("oracle_topk_grouped needs a value of k");
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return std::make_unique<oracle_topk_grouped_cuda_instance>(p);
#else
      throw unsupported_case("oracle_topk_grouped: this build has no CUDA");
#endif
    }
    require_cpu_fp32("oracle_topk_grouped", p);
    return std::make_unique<oracle_topk_grouped_instance>(p);
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::oracle_topk_grouped_variant)
