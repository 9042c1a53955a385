// dense_stream: exact attention with an online softmax over key blocks (flash-attention's
// recurrence on the CPU). Extra memory is one query-block × key-block score tile plus the
// accumulator, so the case's memory grows as T (the output), not T².
// The CPU computes fp32; with CUDA the same variant also runs on the GPU (dense_stream_cuda.cpp)
// in fp32, fp16 and bf16, with its own fixed tiles and no memory beyond the output.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "harness/core/blas.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/device_memory_model.hpp"
#ifdef SEABENCH_HAVE_CUDA
#include "attention_variants/dense_stream/dense_stream_cuda.hpp"
#endif

namespace sb {
namespace {

constexpr int default_query_block = 128;
constexpr int default_key_block = 256;

class dense_stream_instance final : public attention_instance {
 public:
  dense_stream_instance(const problem& p, int bq, int bk) : m_p(p), m_bq(bq), m_bk(bk) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const int t = m_p.seq_len, d = m_p.head_dim;
    ctx.extras["keys_per_query"] = m_p.causal ? (t + 1) / 2.0 : t;  // every visible key
    const std::size_t heads = static_cast<std::size_t>(m_p.batch) * m_p.heads;
    const std::size_t head_elems = static_cast<std::size_t>(t) * d;
    const float tau = static_cast<float>(m_p.scale());
    tracked_buffer<float> s(static_cast<std::size_t>(m_bq) * m_bk);  // score tile [bq, bk]
    tracked_buffer<float> acc(static_cast<std::size_t>(m_bq) * d);   // running Σ p·v [bq, d]
    tracked_buffer<float> row_max(m_bq), row_sum(m_bq);
    for (std::size_t bh = 0; bh < heads; ++bh) {
      const float* q = in.q + bh * head_elems;
      const float* k = in.k + bh * head_elems;
      const float* v = in.v + bh * head_elems;
      for (int q0 = 0; q0 < t; q0 += m_bq) {
        const int nq = std::min(m_bq, t - q0);
        acc.fill(0.0f);
        std::fill_n(row_max.data(), nq, -std::numeric_limits<float>::infinity());
        std::fill_n(row_sum.data(), nq, 0.0f);
        // Causal: key blocks that start after this block's last query are entirely masked.
        const int key_end = m_p.causal ? q0 + nq : t;
        for (int k0 = 0; k0 < key_end; k0 += m_bk) {
          const int nk = std::min(m_bk, key_end - k0);
          blas::sgemm(false, true, nq, nk, d, tau, q + static_cast<std::size_t>(q0) * d, d,
                      k + static_cast<std::size_t>(k0) * d, d, 0.0f, s.data(), m_bk);
          for (int i = 0; i < nq; ++i) {
            float* row = s.data() + static_cast<std::size_t>(i) * m_bk;
            // Keys k0+j visible to query q0+i when causal: j ≤ q0 + i − k0.
            const int visible = m_p.causal ? std::clamp(q0 + i - k0 + 1, 0, nk) : nk;
            float* a = acc.data() + static_cast<std::size_t>(i) * d;
            if (visible == 0) {
              std::fill_n(row, nk, 0.0f);
              continue;
            }
            const float blk_max = *std::max_element(row, row + visible);
            const float new_max = std::max(row_max[i], blk_max);
            const float correction = std::exp(row_max[i] - new_max);  // exp(-inf) = 0 on the first block
            float blk_sum = 0;
            for (int j = 0; j < visible; ++j) {
              row[j] = std::exp(row[j] - new_max);
              blk_sum += row[j];
            }
            std::fill(row + visible, row + nk, 0.0f);
            for (int c = 0; c < d; ++c) a[c] *= correction;
            row_sum[i] = row_sum[i] * correction + blk_sum;
            row_max[i] = new_max;
          }
          blas::sgemm(false, false, nq, d, nk, 1.0f, s.data(), m_bk, v + static_cast<std::size_t>(k0) * d, d, 1.0f,
                      acc.data(), d);
        }
        float* o = out + bh * head_elems + static_cast<std::size_t>(q0) * d;
        for (int i = 0; i < nq; ++i) {
          const float inv = 1.0f / row_sum[i];
          for (int c = 0; c < d; ++c) o[static_cast<std::size_t>(i) * d + c] = acc[static_cast<std::size_t>(i) * d + c] * inv;
        }
      }
    }
  }

 private:
  problem m_p;
  int m_bq, m_bk;
};

class dense_stream_variant final : public attention_variant, public cuda::device_memory_model {
 public:
  std::string_view name() const override { return "dense_stream"; }
  std::string_view description() const override {
    return "exact attention with an online softmax over key blocks: O(T) extra memory";
  }
  param_schema parameters() const override {
    return {
        {.name = "query_block", .type = param_type::integer, .default_value = std::int64_t{default_query_block},
         .help = "queries per tile (CPU; the CUDA kernel uses fixed tiles)", .min = 1.0, .max = 4096.0},
        {.name = "key_block", .type = param_type::integer, .default_value = std::int64_t{default_key_block},
         .help = "keys per tile (CPU; the CUDA kernel uses fixed tiles)", .min = 1.0, .max = 4096.0},
    };
  }
  capabilities caps() const override {
    capabilities c;
#ifdef SEABENCH_HAVE_CUDA
    c.cuda = true;
    c.dtypes = {dtype::fp32, dtype::fp16, dtype::bf16};  // fp16 and bf16 on CUDA only
#endif
    return c;
  }
  /// CPU: the fp32 output plus the score, accumulator and row-statistics tiles.
  std::size_t analytic_memory_bytes(const problem& p, const param_set& params) const override {
    const std::size_t bq = params.get_int("query_block"), bk = params.get_int("key_block");
    const std::size_t tiles = bq * bk + bq * p.head_dim + 2 * bq;
    return (p.qkv_elements() + tiles) * sizeof(float);
  }
  flop_count flops(const problem& p, const param_set& params) const override {
    // Executed: full tiles below the diagonal, including the masked part of the diagonal blocks.
    const double t = p.seq_len, d = p.head_dim;
    double pairs = t * t;
    if (p.causal) {
      const double bq = static_cast<double>(params.get_int("query_block"));
      pairs = 0;
      for (double q0 = 0; q0 < t; q0 += bq) {
        const double nq = std::min(bq, t - q0);
        const double bk = static_cast<double>(params.get_int("key_block"));
        pairs += nq * std::min(t, std::ceil((q0 + nq) / bk) * bk);
      }
    }
    return {dense_equivalent_flops(p), 4.0 * p.batch * p.heads * pairs * d};
  }
  std::optional<budget_setting> exact_setting(const problem&) const override { return budget_setting{}; }
  /// CUDA: the output in the case dtype; the kernel keeps its tiles in shared memory and registers.
  std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set&) const override {
    return p.qkv_elements() * dtype_bytes(p.type);
  }
  std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                  device_kind device) const override {
    if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
      return dense_stream_cuda::make_instance(p);
#else
      throw unsupported_case("dense_stream: this build has no CUDA");
#endif
    }
    require_cpu_fp32("dense_stream", p);
    return std::make_unique<dense_stream_instance>(p, static_cast<int>(params.get_int("query_block")),
                                                   static_cast<int>(params.get_int("key_block")));
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_VARIANT(sb::dense_stream_variant)
