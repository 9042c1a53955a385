#include "attention_variants/sea/sparse_attention.hpp"

#include <algorithm>
#include <cmath>

#include "attention_variants/sparse_common/sparse_attend.hpp"
#include "harness/core/memory_tracker.hpp"

namespace sb::sea {

void sparse_attend(const problem& p, const config& c, qkv_view in, const flat_csr& csr, const float* gates,
                   float* out) {
  const int T = p.seq_len, H = p.heads, d = p.head_dim, s = c.query_skip;
  const int te = c.estimator_rows(T);
  const float tau = static_cast<float>(p.scale());
  const std::size_t head_elems = static_cast<std::size_t>(T) * d;
  tracked_buffer<float> scores(static_cast<std::size_t>(T));  // a segment holds at most L_t ≤ T keys
  for (int b = 0; b < p.batch; ++b)
    for (int t = 0; t < T; ++t) {
      const std::size_t r = static_cast<std::size_t>(b) * T + t;
      for (int h = 0; h < H; ++h) {
        const std::size_t bh = static_cast<std::size_t>(b) * H + h;
        const std::size_t off = bh * head_elems + static_cast<std::size_t>(t) * d;
        float* o = out + off;
        sparse::attend_row(in.q + off, in.k + bh * head_elems, in.v + bh * head_elems, d, tau, csr.segment(r, h),
                           scores.data(), o);
        if (gates) {
          const float g = sigmoid(gates[(bh * te + t / s) * 2]);
          for (int j = 0; j < d; ++j) o[j] *= g;
        }
      }
    }
}

std::size_t sparse_attend_bytes(const problem& p) { return static_cast<std::size_t>(p.seq_len) * sizeof(float); }

mask_stats mask_statistics(const flat_csr& csr) {
  mask_stats m;
  const std::size_t rows = csr.rows();
  for (std::size_t r = 0; r < rows; ++r)
    for (int h = 0; h < csr.heads; ++h)
      m.keys_per_query_max = std::max<std::int64_t>(m.keys_per_query_max, static_cast<std::int64_t>(csr.segment(r, h).size()));
  const double segments = static_cast<double>(rows) * csr.heads;
  m.keys_per_query_mean = segments > 0 ? static_cast<double>(csr.nnz()) / segments : 0.0;
  return m;
}

}  // namespace sb::sea
