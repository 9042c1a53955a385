// bigbird: BigBird ITC block-sparse attention (window blocks + global blocks + seeded random
// blocks; layout in bigbird_layout.hpp). The layout is drawn in instantiate(); run() generates each
// row's keys from it and attends with the shared sparse kernel, so extra memory is one row. When T
// is too small for the pattern (ceil(T/b) ≤ 5 + 2r) it falls back to full attention as HF does, and
// says so in the `bigbird_full_fallback` column (or, with fallback=skip, reports the case unsupported).
// On CUDA (fp32, fp16, bf16) the rows of each head (shared by the batch) are planned once as CSR from
// the same layout in instantiate() and uploaded, so both devices attend the same random blocks; each
// call is the shared one-warp-per-row kernel (sparse_common/sparse_attend_cuda.hpp).
#include <algorithm>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "attention_variants/bigbird/bigbird_layout.hpp"
#include "attention_variants/sparse_common/row_key_pattern.hpp"
#include "attention_variants/sparse_common/sparse_attend.hpp"
#include "harness/cuda/device_memory_model.hpp"
#ifdef SEABENCH_HAVE_CUDA
#include "attention_variants/sparse_common/device_row_keys.hpp"
#endif
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/variant.hpp"

namespace sb {
namespace {

constexpr std::int64_t default_block = 64;        // BigBird paper / HF default block_size
constexpr std::int64_t default_random_blocks = 3;  // BigBird paper / HF default num_random_blocks

bigbird::layout layout_for(const problem& p, const param_set& params) {
  return bigbird::make_layout(p.seq_len, p.heads, static_cast<int>(params.get_int("block")),
                              static_cast<int>(params.get_int("random_blocks")), p.causal, p.seed);
}

class bigbird_instance final : public attention_instance {
 public:
  bigbird_instance(const problem& p, bigbird::layout l) : m_p(p), m_l(std::move(l)), m_max_row(m_l.max_row()) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const std::size_t max_row = static_cast<std::size_t>(m_max_row);
    tracked_buffer<std::int32_t> keys(max_row);
    auto row_keys = [&](std::size_t bh, int i) {
      const int h = static_cast<int>(bh % static_cast<std::size_t>(m_p.heads));
      return std::span<const std::int32_t>(keys.data(), static_cast<std::size_t>(m_l.row(h, i, keys.data())));
    };
    sparse::attend_rows(m_p, in, out, max_row, row_keys);
    ctx.extras["bigbird_full_fallback"] = m_l.fallback ? 1.0 : 0.0;
    if (ctx.support) sparse::build_support(m_p, *ctx.support, row_keys);
  }

 private:
  problem m_p;
  bigbird::layout m_l;
  int m_max_row;
};

#ifdef SEABENCH_HAVE_CUDA
/// Every row's keys, one pattern per head (the batch shares the layout).
sparse::row_key_pattern plan_rows(const bigbird::layout& l) {
  return sparse::row_key_pattern::build(l.t, l.heads, l.max_row(),
                                        [&](int h, int i, std::int32_t* buf) { return l.row(h, i, buf); });
}

class bigbird_cuda_instance final : public attention_instance {
 public:
  bigbird_cuda_instance(const problem& p, const bigbird::layout& l)
      : m_p(p), m_fallback(l.fallback), m_plan(plan_rows(l)), m_device(m_plan) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    m_device.attend(m_p, in, out);
    ctx.extras["bigbird_full_fallback"] = m_fallback ? 1.0 : 0.0;
    if (ctx.support) m_plan.expand(m_p, *ctx.support);
  }

 private:
  problem m_p;
  bool m_fallback;
  sparse::row_key_pattern m_plan;
  sparse::device_row_keys m_device;
};
#endif

class bigbird_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "bigbird"; }
  std::string_view description() const override {
    return "BigBird ITC block-sparse attention: 3 window blocks, first/last blocks global, seeded random blocks; "
           "full attention when ceil(T/block) <= 5+2*random_blocks (column bigbird_full_fallback); causal is a "
           "harness extension (future blocks dropped, diagonal block masked)";
  }
  param_schema parameters() const override {
    return {
        {.name = "block", .type = param_type::integer, .default_value = default_block,
         .help = "block size b in tokens (BigBird/HF default 64)", .min = 1.0, .max = 1048576.0},
        {.name = "random_blocks", .type = param_type::integer, .default_value = default_random_blocks,
         .help = "random key blocks per query block r (BigBird/HF default 3)", .min = 0.0, .max = 4096.0},
        {.name = "fallback", .type = param_type::text, .default_value = std::string("dense"),
         .help = "when ceil(T/block) <= 5+2r: dense = full attention as HF (bigbird_full_fallback=1), "
                 "skip = report the case unsupported",
         .choices = {"dense", "skip"}},
    };
  }
  capabilities caps() const override {
    capabilities c;
    c.uses_k = k_usage::none;
    c.k_meaning = "not used (own block and random_blocks)";
    c.exposes_support = true;
    c.randomized = true;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  std::vector<std::string> extra_columns() const override { return {"bigbird_full_fallback"}; }
  std::optional<std::string> check(const problem& p, const param_set& params) const override {
    const int b = static_cast<int>(params.get_int("block")), r = static_cast<int>(params.get_int("random_blocks"));
    if (params.get_text("fallback") == "skip" && bigbird::falls_back(p.seq_len, b, r))
      return fmt::format("bigbird: T={} gives ceil(T/block)={} <= 5+2*random_blocks={}, too small for the pattern "
                         "(fallback=skip)",
                         p.seq_len, (p.seq_len + b - 1) / b, 5 + 2 * r);
    return std::nullopt;
  }
  std::size_t analytic_memory_bytes(const problem& p, const param_set& params) const override {
    const std::size_t max_row = static_cast<std::size_t>(layout_for(p, params).max_row());
    return p.qkv_elements() * sizeof(float) + max_row * sizeof(std::int32_t) +
           sparse::attend_rows_scratch_bytes(max_row);
  }
  /// CUDA: the output only; the planned rows are uploaded in instantiate() (set-up).
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set&) const override {
    return p.qkv_elements() * dtype_bytes(p.type);
  }
  flop_count flops(const problem& p, const param_set& params) const override {
    const double pairs = layout_for(p, params).pairs() * p.batch;
    return {dense_equivalent_flops(p), 2.0 * pairs * (2.0 * p.head_dim)};
  }
  std::optional<budget_setting> exact_setting(const problem& p) const override {
    // One block covering the sequence: ceil(T/b) = 1 ≤ 5 + 2r, the full-attention fallback.
    return budget_setting{{{"block", std::int64_t{p.seq_len}}, {"fallback", std::string("dense")}}, std::nullopt};
  }
  std::vector<budget_setting> budget_ladder(const problem& p) const override {
    // At least 16 blocks, then more random blocks per row while staying clear of the fallback.
    const int b = std::max(1, p.seq_len / 16);
    const int nb = (p.seq_len + b - 1) / b;
    const int r_max = (nb - 6) / 2;  // largest r with nb > 5 + 2r
    std::vector<budget_setting> out;
    if (r_max < 1) return out;
    std::vector<int> rs{0, r_max / 3, (2 * r_max) / 3, r_max};
    rs.erase(std::unique(rs.begin(), rs.end()), rs.end());
    for (int r : rs)
      out.push_back({{{"block", std::int64_t{b}}, {"random_blocks", std::int64_t{r}}, {"fallback", std::string("dense")}},
                     std::nullopt});
    return out;
  }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (auto why = check(p, params)) throw unsupported_case(*why);
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return std::make_unique<bigbird_cuda_instance>(p, layout_for(p, params));
#else
      throw unsupported_case("bigbird: this build has no CUDA");
#endif
    }
    require_cpu_fp32("bigbird", p);
    return std::make_unique<bigbird_instance>(p, layout_for(p, params));
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::bigbird_variant)
