#include "attention_variants/sparse_common/sparse_attend.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace sb::sparse {

float dot(const float* a, const float* b, int d) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int c = 0;
  for (; c + 8 <= d; c += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[c + l] * b[c + l];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; c < d; ++c) s += a[c] * b[c];
  return s;
}

float attend_row(const float* q, const float* k_head, const float* v_head, int d, float tau,
                 std::span<const std::int32_t> keys, float* scores, float* out) {
  std::fill_n(out, d, 0.0f);
  const std::size_t n = keys.size();
  if (n == 0) return -std::numeric_limits<float>::infinity();
  float mx = -std::numeric_limits<float>::infinity();
  for (std::size_t j = 0; j < n; ++j) {
    scores[j] = tau * dot(q, k_head + static_cast<std::size_t>(keys[j]) * d, d);
    mx = std::max(mx, scores[j]);
  }
  double sum = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const float e = std::exp(scores[j] - mx);
    const float* v = v_head + static_cast<std::size_t>(keys[j]) * d;
    for (int c = 0; c < d; ++c) out[c] += e * v[c];
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int c = 0; c < d; ++c) out[c] *= inv;
  return mx + static_cast<float>(std::log(sum));
}

int topk_indices(const float* scores, int n, int k, std::int32_t* sel, float* work) {
  if (k <= 0) return 0;
  if (k >= n) {
    std::iota(sel, sel + n, 0);
    return n;
  }
  const float kth = kth_largest(scores, n, k, work);
  int above = 0;
  for (int j = 0; j < n; ++j) above += scores[j] > kth;
  int ties = k - above;  // how many keys scoring exactly kth make it, lowest index first
  int m = 0;
  for (int j = 0; j < n; ++j)
    if (scores[j] > kth || (scores[j] == kth && ties-- > 0)) sel[m++] = j;
  return m;
}

double blockwise_scored_pairs(int t, int query_block, bool causal) {
  if (!causal) return static_cast<double>(t) * t;
  double pairs = 0;
  for (int q0 = 0; q0 < t; q0 += query_block) {
    const int nq = std::min(query_block, t - q0);
    pairs += static_cast<double>(nq) * (q0 + nq);
  }
  return pairs;
}

}  // namespace sb::sparse
