#include "harness/train/losses.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace sb::train {

double kl_divergence(const float* p, const float* q, int n, float* dq) {
  double kl = 0;
  for (int i = 0; i < n; ++i) {
    if (p[i] > 0) kl += p[i] * (std::log(static_cast<double>(p[i])) - std::log(static_cast<double>(q[i])));
    if (dq) dq[i] = p[i] > 0 ? static_cast<float>(-static_cast<double>(p[i]) / q[i]) : 0.0f;
  }
  return kl;
}

double mean_squared_error(const float* a, const float* b, std::size_t n, float* da) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double e = static_cast<double>(a[i]) - b[i];
    s += e * e;
    if (da) da[i] = static_cast<float>(2.0 * e / static_cast<double>(n));
  }
  return s / static_cast<double>(n);
}

row_loss binned_attention_loss(const float* s, int K, const binned_teacher_row& teacher, double kl_scale,
                               double sse_scale, const attention_loss_weights& w, float* ds) {
  // q_b = exp(s_b − mx)/Z per key, Z = Σ n_c·exp(s_c − mx); π_b = n_b·q_b (the estimate's bin mass).
  double mx = -std::numeric_limits<double>::infinity();
  for (int b = 0; b < K; ++b)
    if (teacher.bin_sizes[b] > 0) mx = std::max(mx, static_cast<double>(s[b]));
  std::vector<double> q(static_cast<std::size_t>(K), 0.0);
  double z = 0;
  for (int b = 0; b < K; ++b)
    if (teacher.bin_sizes[b] > 0) {
      q[static_cast<std::size_t>(b)] = std::exp(s[b] - mx);
      z += teacher.bin_sizes[b] * q[static_cast<std::size_t>(b)];
    }
  double sum_nq2 = 0, sum_qm = 0, cross = 0;
  row_loss r;
  for (int b = 0; b < K; ++b) {
    const int n = teacher.bin_sizes[b];
    if (n == 0) continue;
    double& qb = q[static_cast<std::size_t>(b)];
    qb /= z;
    const double m = teacher.mass[b];
    if (m > 0) cross += m * std::log(qb);
    sum_nq2 += n * qb * qb;
    sum_qm += qb * m;
  }
  r.kl = teacher.p_log_p - cross;
  r.sse = sum_nq2 - 2.0 * sum_qm + teacher.p_squared;
  if (ds) {
    // ∂KL/∂s_c = π_c − M_c (the teacher's masses sum to 1);
    // ∂sse/∂s_c = 2·n_c·q_c² − 2·π_c·Σ n_b q_b² − 2·q_c·M_c + 2·π_c·Σ q_b M_b.
    double mass_total = 0;
    for (int b = 0; b < K; ++b)
      if (teacher.bin_sizes[b] > 0) mass_total += teacher.mass[b];
    const double a = w.kl * kl_scale, c = w.mse * sse_scale;
    for (int b = 0; b < K; ++b) {
      const int n = teacher.bin_sizes[b];
      if (n == 0) {
        ds[b] = 0.0f;
        continue;
      }
      const double qb = q[static_cast<std::size_t>(b)], pi = n * qb, m = teacher.mass[b];
      const double dkl = pi * mass_total - m;
      const double dsse = 2.0 * n * qb * qb - 2.0 * pi * sum_nq2 - 2.0 * qb * m + 2.0 * pi * sum_qm;
      ds[b] = static_cast<float>(a * dkl + c * dsse);
    }
  }
  return r;
}

}  // namespace sb::train
