// window: sliding-window (banded) attention, Longformer-style, with optional global tokens.
// Causal: query i sees keys i−k+1 … i. Non-causal: floor((k−1)/2) keys to the left and
// ceil((k−1)/2) to the right (clipped at the ends). With `global_tokens` = g, the first g positions
// are global: they attend to every visible key and every query attends to them (Longformer's global
// attention, here with the shared q/k/v projections: global_proj=shared). Keys per row are generated
// on the fly, so the extra memory is one row of key ids and scores.
// On CUDA (fp32, fp16, bf16) the rows, the same for every head, are planned once as CSR in
// instantiate() and uploaded; each call is the shared one-warp-per-row kernel over them
// (sparse_common/sparse_attend_cuda.hpp), and the support comes from the same plan.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include <fmt/format.h>

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

struct window_shape {
  int t = 0;
  int left = 0;    ///< keys before the query
  int right = 0;   ///< keys after the query (0 when causal)
  int global = 0;  ///< global positions [0, global)
  bool causal = false;

  window_shape(const problem& p, const param_set& params) : t(p.seq_len), causal(p.causal) {
    const int k = std::max(1, p.k.value_or(1));
    left = causal ? k - 1 : (k - 1) / 2;
    right = causal ? 0 : k / 2;  // ceil((k−1)/2) = floor(k/2)
    global = static_cast<int>(std::min<std::int64_t>(params.get_int("global_tokens"), t));
  }

  /// Sorted key ids of query i into buf (capacity t); returns how many.
  int row(int i, std::int32_t* buf) const {
    int n = 0;
    if (i < global) {  // a global row: every visible key
      const int end = causal ? i + 1 : t;
      for (int j = 0; j < end; ++j) buf[n++] = j;
      return n;
    }
    const int lo = std::max(0, i - left);
    const int hi = std::min(t - 1, i + right);
    // Global columns [0, global) before the band; i ≥ global, so they are all visible when causal.
    for (int j = 0; j < std::min(global, lo); ++j) buf[n++] = j;
    for (int j = lo; j <= hi; ++j) buf[n++] = j;
    return n;
  }
  [[nodiscard]] int row_size(int i) const {
    if (i < global) return causal ? i + 1 : t;
    const int lo = std::max(0, i - left);
    const int hi = std::min(t - 1, i + right);
    return std::min(global, lo) + (hi - lo + 1);
  }
  [[nodiscard]] int max_row() const {
    int m = 0;
    for (int i = 0; i < t; ++i) m = std::max(m, row_size(i));
    return m;
  }
  [[nodiscard]] double pairs_per_head() const {
    double s = 0;
    for (int i = 0; i < t; ++i) s += row_size(i);
    return s;
  }
};

class window_instance final : public attention_instance {
 public:
  window_instance(const problem& p, const param_set& params) : m_p(p), m_w(p, params) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const std::size_t max_row = static_cast<std::size_t>(m_w.max_row());
    tracked_buffer<std::int32_t> keys(max_row);
    auto row_keys = [&](std::size_t, int i) {
      return std::span<const std::int32_t>(keys.data(), static_cast<std::size_t>(m_w.row(i, keys.data())));
    };
    sparse::attend_rows(m_p, in, out, max_row, row_keys);
    if (ctx.support) sparse::build_support(m_p, *ctx.support, row_keys);
  }

 private:
  problem m_p;
  window_shape m_w;
};

#ifdef SEABENCH_HAVE_CUDA
/// Every row's keys as one pattern shared by all heads.
sparse::row_key_pattern plan_rows(const window_shape& w) {
  return sparse::row_key_pattern::build(w.t, 1, w.max_row(), [&](int, int i, std::int32_t* buf) { return w.row(i, buf); });
}

class window_cuda_instance final : public attention_instance {
 public:
  window_cuda_instance(const problem& p, const param_set& params)
      : m_p(p), m_plan(plan_rows(window_shape(p, params))), m_device(m_plan) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    m_device.attend(m_p, in, out);
    if (ctx.support) m_plan.expand(m_p, *ctx.support);
  }

 private:
  problem m_p;
  sparse::row_key_pattern m_plan;
  sparse::device_row_keys m_device;
};
#endif

class window_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "window"; }
  std::string_view description() const override {
    return "sliding-window attention (Longformer band), optional global tokens with shared q/k/v projections";
  }
  param_schema parameters() const override {
    return {
        {.name = "global_tokens", .type = param_type::integer, .default_value = std::int64_t{0},
         .help = "the first n positions are global: they attend to all keys and all queries attend to them "
                 "(Longformer global attention, global_proj=shared)",
         .min = 0.0, .max = 1048576.0},
    };
  }
  capabilities caps() const override {
    capabilities c;
    c.uses_k = k_usage::keys_per_query;
    c.k_meaning = "window size: causal keys i-k+1..i; non-causal floor((k-1)/2) left, ceil((k-1)/2) right";
    c.exposes_support = true;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  std::optional<std::string> check(const problem& p, const param_set&) const override {
    if (p.k && *p.k < 1) return fmt::format("window needs k >= 1 (got {})", *p.k);
    return std::nullopt;
  }
  std::size_t analytic_memory_bytes(const problem& p, const param_set& params) const override {
    const std::size_t max_row = static_cast<std::size_t>(window_shape(p, params).max_row());
    return p.qkv_elements() * sizeof(float) + max_row * sizeof(std::int32_t) +
           sparse::attend_rows_scratch_bytes(max_row);
  }
  /// CUDA: the output only; the planned rows are uploaded in instantiate() (set-up).
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set&) const override {
    return p.qkv_elements() * dtype_bytes(p.type);
  }
  flop_count flops(const problem& p, const param_set& params) const override {
    const double pairs = window_shape(p, params).pairs_per_head() * p.batch * p.heads;
    return {dense_equivalent_flops(p), 2.0 * pairs * (2.0 * p.head_dim)};
  }
  std::optional<budget_setting> exact_setting(const problem& p) const override {
    // Causal: k ≥ T covers keys 0..i. Non-causal: both half-windows must reach T−1 → k = 2T−1.
    return budget_setting{{{"global_tokens", std::int64_t{0}}}, p.causal ? p.seq_len : 2 * p.seq_len - 1};
  }
  std::vector<budget_setting> budget_ladder(const problem& p) const override {
    const int full = p.causal ? p.seq_len : 2 * p.seq_len - 1;
    std::set<int> ks;
    for (int div : {8, 4, 2}) ks.insert(std::max(1, full / div));
    ks.insert(full);
    std::vector<budget_setting> out;
    for (int k : ks) out.push_back({{{"global_tokens", std::int64_t{0}}}, k});
    return out;
  }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (auto why = check(p, params)) throw unsupported_case(*why);
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return std::make_unique<window_cuda_instance>(p, params);
#else
      throw unsupported_case("window: this build has no CUDA");
#endif
    }
    require_cpu_fp32("window", p);
    return std::make_unique<window_instance>(p, params);
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::window_variant)
