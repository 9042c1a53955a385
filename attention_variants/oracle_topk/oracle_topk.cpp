// oracle_topk: exact per-(batch, head, query) top-k of the true scores τ·q·k_j over the visible keys
// (ties: the lower key index wins), then softmax over the selected keys only. Within one head, the
// top-k by score is the top-k by probability, so this maximises the captured attention mass for a
// per-head budget of k keys: an accuracy bound for sparse methods, not a speed contender (it scores
// every visible pair). Scores are computed one query block at a time (GEMM into a [query_block, T]
// tile), so memory is O(T), never T×T.
// On CUDA (fp32, fp16, bf16; sparse_common/oracle_tiles.hpp): a cuBLAS score tile for every head at
// once, a radix-select kernel per row (same keys as the CPU, ties included), and the shared row
// kernel over the selected keys. Still a bound: it scores every visible pair.
#include <algorithm>
#include <cstdint>
#include <string>

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

constexpr int query_block = 32;  // queries scored per GEMM tile

int tile_rows(const problem& p) { return std::min(query_block, p.seq_len); }
int kept(const problem& p) { return std::min(p.k.value_or(1), p.seq_len); }

class oracle_topk_instance final : public attention_instance {
 public:
  explicit oracle_topk_instance(const problem& p) : m_p(p) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const int t = m_p.seq_len, d = m_p.head_dim, k = *m_p.k;
    const float tau = static_cast<float>(m_p.scale());
    const std::size_t heads = static_cast<std::size_t>(m_p.batch) * m_p.heads;
    const std::size_t head_elems = static_cast<std::size_t>(t) * d;
    const int bq = tile_rows(m_p);
    tracked_buffer<float> tile(static_cast<std::size_t>(bq) * t);  // scores of one query block
    tracked_buffer<float> work(t);                                // selection workspace, one row
    tracked_buffer<std::int32_t> sel(kept(m_p));                  // selected key ids, one row
    tracked_buffer<float> row_scores(kept(m_p));                  // attend_row scratch
    attention_support* sup = ctx.support;
    if (sup) sparse::clear_support(*sup);
    for (std::size_t bh = 0; bh < heads; ++bh) {
      const float* q = in.q + bh * head_elems;
      const float* kh = in.k + bh * head_elems;
      const float* vh = in.v + bh * head_elems;
      for (int q0 = 0; q0 < t; q0 += bq) {
        const int nq = std::min(bq, t - q0);
        const int key_end = m_p.causal ? q0 + nq : t;
        blas::sgemm(false, true, nq, key_end, d, tau, q + static_cast<std::size_t>(q0) * d, d, kh, d, 0.0f,
                    tile.data(), key_end);
        for (int r = 0; r < nq; ++r) {
          const int i = q0 + r;
          const int visible = m_p.causal ? i + 1 : t;
          const int n = sparse::topk_indices(tile.data() + static_cast<std::size_t>(r) * key_end, visible, k,
                                             sel.data(), work.data());
          const std::span<const std::int32_t> keys(sel.data(), static_cast<std::size_t>(n));
          const std::size_t off = static_cast<std::size_t>(i) * d;
          sparse::attend_row(q + off, kh, vh, d, tau, keys, row_scores.data(), out + bh * head_elems + off);
          if (sup) sparse::append_support_row(*sup, keys);
        }
      }
    }
  }

 private:
  problem m_p;
};

#ifdef SEABENCH_HAVE_CUDA
class oracle_topk_cuda_instance final : public attention_instance {
 public:
  explicit oracle_topk_cuda_instance(const problem& p) : m_p(p) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const int k = kept(m_p);
    const cudaStream_t stream = cuda::context::instance().stream();
    auto select = [&](const sparse::tile_selection& t) {
      sparse::cuda_kernels::score_tile s{t.scores, m_p.batch, m_p.heads, m_p.seq_len, t.q0, t.nq, t.ld, m_p.causal};
      sparse::cuda_kernels::launch_topk_rows(s, k, t.cols, t.counts, k, stream);
    };
    m_pass.run(m_p, in, out, k, select, ctx.support);
  }

 private:
  problem m_p;
  sparse::oracle_pass m_pass;
};
#endif

/// Σ over one head's queries of min(k, visible keys).
double selected_pairs_per_head(const problem& p) {
  const int k = p.k.value_or(1);
  double s = 0;
  for (int i = 0; i < p.seq_len; ++i) s += std::min(k, p.causal ? i + 1 : p.seq_len);
  return s;
}

class oracle_topk_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "oracle_topk"; }
  std::string_view description() const override {
    return "exact per-(head, query) top-k keys by true score (ties: lower key index), softmax over them: an "
           "accuracy upper bound that scores every pair, not a speed contender";
  }
  capabilities caps() const override {
    capabilities c;
    c.uses_k = k_usage::keys_per_query;
    c.k_meaning = "k keys per (head, query): the exact top-k scores";
    c.exposes_support = true;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  std::optional<std::string> check(const problem& p, const param_set&) const override {
    if (p.k && *p.k < 1) return fmt::format("oracle_topk needs k >= 1 (got {})", *p.k);
    return std::nullopt;
  }
  std::size_t analytic_memory_bytes(const problem& p, const param_set&) const override {
    const std::size_t t = p.seq_len;
    return p.qkv_elements() * sizeof(float) + static_cast<std::size_t>(tile_rows(p)) * t * sizeof(float) +
           t * sizeof(float) + static_cast<std::size_t>(kept(p)) * sizeof(std::int32_t) +
           sparse::attend_rows_scratch_bytes(kept(p));
  }
  /// CUDA: output, one [B·H, rows, T] fp32 score tile, the tile's key lists and counts.
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set&) const override {
    return sparse::oracle_cuda_bytes(p, kept(p));
  }
  flop_count flops(const problem& p, const param_set&) const override {
    const double bh = static_cast<double>(p.batch) * p.heads, d = p.head_dim;
    const double scoring = 2.0 * d * sparse::blockwise_scored_pairs(p.seq_len, tile_rows(p), p.causal);
    const double attend = 2.0 * selected_pairs_per_head(p) * (2.0 * d);
    return {dense_equivalent_flops(p), bh * (scoring + attend)};
  }
  std::optional<budget_setting> exact_setting(const problem& p) const override {
    return budget_setting{{}, p.seq_len};
  }
  std::vector<budget_setting> budget_ladder(const problem& p) const override { return sparse::oracle_budget_ladder(p); }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (auto why = check(p, params)) throw unsupported_case(*why);
    if (!p.k) throw unsupported_case("oracle_topk needs a value of k");
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return std::make_unique<oracle_topk_cuda_instance>(p);
#else
      throw unsupported_case("oracle_topk: this build has no CUDA");
#endif
    }
    require_cpu_fp32("oracle_topk", p);
    return std::make_unique<oracle_topk_instance>(p);
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::oracle_topk_variant)
