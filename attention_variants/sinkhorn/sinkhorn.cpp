// sinkhorn: block sorting attention (Tay et al., ICML 2020) with a training-free sort. The paper's
// SortNet is learned; here the block logits are the pooled query–key similarities q̄_a·k̄_c/√d
// (block_sort.hpp), and each query block of k positions attends to its own block plus the n_sorted
// blocks it is sorted to, by top-n (the sinkhorn-transformer default path) or after log-space
// Sinkhorn balancing. Heads run one after another through one reused workspace.
// On CUDA (fp32, fp16, bf16; sinkhorn_cuda.hpp) every head at once: summary, selection and block
// attention kernels with the same rules; sinkhorn_sort_ms is then CUDA-event time of the sort stage
// on the untimed accuracy call.
#include <algorithm>
#include <chrono>
#include <string>

#include <fmt/format.h>

#include "attention_variants/sinkhorn/block_sort.hpp"
#include "attention_variants/sinkhorn/sinkhorn_cuda.hpp"
#include "harness/cuda/device_memory_model.hpp"
#include "attention_variants/sparse_common/sparse_attend.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/variant.hpp"

namespace sb {
namespace {

block_sort::config make_config(const problem& p, const param_set& params) {
  block_sort::config c;
  c.seq_len = p.seq_len;
  c.head_dim = p.head_dim;
  c.block = p.k.value_or(64);
  c.n_sorted = static_cast<int>(params.get_int("n_sorted"));
  c.iters = static_cast<int>(params.get_int("sinkhorn_iters"));
  c.temperature = static_cast<float>(params.get_real("temperature"));
  c.causal = p.causal;
  c.sort = params.get_text("sort") == "pooled_sinkhorn" ? block_sort::method::pooled_sinkhorn
                                                         : block_sort::method::pooled_topk;
  c.scale = static_cast<float>(p.scale());
  return c;
}

class sinkhorn_instance final : public attention_instance {
 public:
  sinkhorn_instance(const problem& p, const block_sort::config& cfg) : m_p(p), m_cfg(cfg) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    using clock = std::chrono::steady_clock;
    const std::size_t heads = static_cast<std::size_t>(m_p.batch) * m_p.heads;
    const std::size_t head_elems = static_cast<std::size_t>(m_p.seq_len) * m_p.head_dim;
    block_sort::head_workspace ws(m_cfg);
    std::vector<std::int32_t> keys;
    clock::duration sort_time{};
    double balance_err = 0;
    if (ctx.support) sparse::clear_support(*ctx.support);
    for (std::size_t bh = 0; bh < heads; ++bh) {
      const float* q = in.q + bh * head_elems;
      const float* k = in.k + bh * head_elems;
      const auto t0 = clock::now();
      balance_err = std::max(balance_err, block_sort::sort_blocks(m_cfg, q, k, ws));
      sort_time += clock::now() - t0;
      block_sort::attend(m_cfg, q, k, in.v + bh * head_elems, ws, out + bh * head_elems);
      if (ctx.support)
        for (int i = 0; i < m_p.seq_len; ++i) {
          block_sort::row_keys(m_cfg, ws, i, keys);
          sparse::append_support_row(*ctx.support, keys);
        }
    }
    ctx.extras["sinkhorn_sort_ms"] = std::chrono::duration<double, std::milli>(sort_time).count();
    if (m_cfg.sort == block_sort::method::pooled_sinkhorn) ctx.extras["sinkhorn_balance_err"] = balance_err;
  }

 private:
  problem m_p;
  block_sort::config m_cfg;
};

class sinkhorn_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "sinkhorn"; }
  std::string_view description() const override {
    return "block sorting attention with a training-free sort (the paper's SortNet is learned): blocks of k, "
           "block logits = mean-pooled q̄·k̄/√d, each query block attends to itself and its n_sorted best other "
           "blocks (causal: past blocks only, own block masked j ≤ i)";
  }
  param_schema parameters() const override {
    return {
        {.name = "sort", .type = param_type::text, .default_value = std::string("pooled_topk"),
         .help = "pooled_topk: the n_sorted blocks with the largest pooled similarity (sinkhorn-transformer's "
                 "default non_permutative path, hard); pooled_sinkhorn: log-space Sinkhorn balancing of the "
                 "pooled logits / temperature first (non-causal only)",
         .choices = {"pooled_topk", "pooled_sinkhorn"}},
        {.name = "n_sorted", .type = param_type::integer, .default_value = std::int64_t{1},
         .help = "sorted-in key blocks per query block (sinkhorn-transformer n_top_buckets = 1)", .min = 1.0,
         .max = 65536.0},
        {.name = "temperature", .type = param_type::real, .default_value = 0.75,
         .help = "Sinkhorn temperature (sinkhorn-transformer default 0.75); pooled_sinkhorn only", .min = 1e-3,
         .max = 1e3},
        {.name = "sinkhorn_iters", .type = param_type::integer, .default_value = std::int64_t{5},
         .help = "Sinkhorn rounds, each a row and a column normalisation (sinkhorn-transformer default 5); "
                 "pooled_sinkhorn only",
         .min = 1.0, .max = 1000.0},
    };
  }
  capabilities caps() const override {
    capabilities c;
    c.uses_k = k_usage::bucket_size;
    c.k_meaning = "block (bucket) size b: a query sees its own block plus n_sorted sorted-in blocks";
    c.exposes_support = true;
    c.randomized = false;
    c.causal_canary_rel_tol = 0.0;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  std::vector<std::string> extra_columns() const override { return {"sinkhorn_sort_ms", "sinkhorn_balance_err"}; }
  std::optional<std::string> check(const problem& p, const param_set& params) const override {
    if (p.causal && params.get_text("sort") == "pooled_sinkhorn")
      return std::string("sinkhorn sort=pooled_sinkhorn is non-causal only: its column normalisation mixes later "
                         "query blocks (and the keys they score) into earlier rows; use sort=pooled_topk");
    if (p.k && *p.k < 1) return fmt::format("sinkhorn needs k ≥ 1, got {}", *p.k);
    return std::nullopt;
  }
  std::size_t analytic_memory_bytes(const problem& p, const param_set& params) const override {
    return p.qkv_elements() * sizeof(float) + block_sort::head_workspace::bytes(make_config(p, params));
  }
  /// CUDA: the output plus summaries, selection and (pooled_sinkhorn) the [B·H, nb, nb] matrices.
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set& params) const override {
#ifdef SEABENCH_HAVE_CUDA
    return p.qkv_elements() * dtype_bytes(p.type) + block_sort::cuda_workspace_bytes(p, make_config(p, params));
#else
    return analytic_memory_bytes(p, params);
#endif
  }
  flop_count flops(const problem& p, const param_set& params) const override {
    const double heads = static_cast<double>(p.batch) * p.heads;
    return {dense_equivalent_flops(p), heads * block_sort::flops_per_head(make_config(p, params))};
  }
  /// One block covering the sequence is dense attention (causal: masked inside the block).
  std::optional<budget_setting> exact_setting(const problem& p) const override {
    return budget_setting{.params = {}, .k = p.seq_len};
  }
  /// Larger blocks: each query sees (1 + n_sorted)·k keys, up to the whole sequence at k = T/2.
  std::vector<budget_setting> budget_ladder(const problem& p) const override {
    std::vector<budget_setting> ladder;
    for (int div : {16, 8, 4, 2}) {
      const int k = (p.seq_len + div - 1) / div;
      if (ladder.empty() || *ladder.back().k < k) ladder.push_back({.params = {}, .k = k});
    }
    if (ladder.size() < 2) ladder.clear();
    return ladder;
  }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (auto why = check(p, params)) throw unsupported_case(*why);
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return block_sort::make_cuda_instance(p, make_config(p, params));
#else
      throw unsupported_case("sinkhorn: this build has no CUDA");
#endif
    }
    require_cpu_fp32("sinkhorn", p);
    return std::make_unique<sinkhorn_instance>(p, make_config(p, params));
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::sinkhorn_variant)
