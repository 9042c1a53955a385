// dense: the paper's "vanilla" attention. Materialises S = τ·Q·Kᵀ for every (batch, head) at once
// ([B, H, T, T] fp32, as HF's bmm → softmax → bmm does), softmaxes rows in place, then O = P·V.
// Memory grows as T²; this is the memory wall in the SEA paper's long-sequence figure.
// The CPU computes fp32; with CUDA the same variant also runs on the GPU (dense_cuda.cpp) in fp32,
// fp16 and bf16.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "harness/core/blas.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/variant.hpp"
#ifdef SEABENCH_HAVE_CUDA
#include "attention_variants/dense/dense_cuda.hpp"
#endif

namespace sb {
namespace {

/// Row softmax of one head's scores in place; causal rows keep only keys j ≤ i (others become 0).
void softmax_rows(float* s, int t, bool causal) {
  for (int i = 0; i < t; ++i) {
    float* row = s + static_cast<std::size_t>(i) * t;
    const int visible = causal ? i + 1 : t;
    const float mx = *std::max_element(row, row + visible);
    double sum = 0;  // fp64: a float sum over T terms costs ~1e-5 relative error at T = 4096
    for (int j = 0; j < visible; ++j) {
      row[j] = std::exp(row[j] - mx);
      sum += row[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int j = 0; j < visible; ++j) row[j] *= inv;
    std::fill(row + visible, row + t, 0.0f);
  }
}

class dense_instance final : public attention_instance {
 public:
  explicit dense_instance(const problem& p) : m_p(p) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const int t = m_p.seq_len, d = m_p.head_dim;
    ctx.extras["keys_per_query"] = m_p.causal ? (t + 1) / 2.0 : t;  // every visible key
    const std::size_t heads = static_cast<std::size_t>(m_p.batch) * m_p.heads;
    const std::size_t head_elems = static_cast<std::size_t>(t) * d;
    const std::size_t score_elems = static_cast<std::size_t>(t) * t;
    tracked_buffer<float> scores(heads * score_elems);  // [B, H, T, T]: the materialised matrix
    const float tau = static_cast<float>(m_p.scale());
    for (std::size_t bh = 0; bh < heads; ++bh)
      blas::sgemm(false, true, t, t, d, tau, in.q + bh * head_elems, d, in.k + bh * head_elems, d, 0.0f,
                  scores.data() + bh * score_elems, t);
    for (std::size_t bh = 0; bh < heads; ++bh) softmax_rows(scores.data() + bh * score_elems, t, m_p.causal);
    for (std::size_t bh = 0; bh < heads; ++bh)
      blas::sgemm(false, false, t, d, t, 1.0f, scores.data() + bh * score_elems, t, in.v + bh * head_elems, d, 0.0f,
                  out + bh * head_elems, d);
  }

 private:
  problem m_p;
};

class dense_variant final : public attention_variant {
 public:
  std::string_view name() const override { return "dense"; }
  std::string_view description() const override {
    return "materialised softmax(QKᵀ/√d)·V with a [B,H,T,T] score matrix (the paper's vanilla)";
  }
  capabilities caps() const override {
    capabilities c;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  /// fp32 scores [B, H, T, T] (on CUDA, half-precision P is packed inside them) + the output.
  std::size_t analytic_memory_bytes(const problem& p, const param_set&) const override {
    const std::size_t bh = static_cast<std::size_t>(p.batch) * p.heads;
    return bh * p.seq_len * p.seq_len * sizeof(float) + p.qkv_elements() * dtype_bytes(p.type);
  }
  flop_count flops(const problem& p, const param_set&) const override {
    const double f = 4.0 * p.batch * p.heads * double(p.seq_len) * p.seq_len * p.head_dim;
    return {dense_equivalent_flops(p), f};  // causal still computes the full product, then masks
  }
  std::optional<budget_setting> exact_setting(const problem&) const override { return budget_setting{}; }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set&,
                                                  device_kind device) const override {
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return dense_cuda::make_instance(p);
#else
      throw unsupported_case("dense: this build has no CUDA");
#endif
    }
    require_cpu_fp32("dense", p);
    return std::make_unique<dense_instance>(p);
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::dense_variant)
