#include "harness/train/grad_check.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace sb::train {

grad_check_result check_gradient(const std::function<double()>& loss, std::span<float> x,
                                 std::span<const float> analytic, double eps, int max_coords) {
  if (analytic.size() != x.size()) throw std::invalid_argument("check_gradient: x and analytic sizes differ");
  grad_check_result r;
  const std::size_t n = x.size();
  const std::size_t stride = std::max<std::size_t>(1, (n + static_cast<std::size_t>(max_coords) - 1) /
                                                          static_cast<std::size_t>(std::max(1, max_coords)));
  double diff_sq = 0, num_sq = 0, ana_sq = 0;
  for (std::size_t i = 0; i < n; i += stride) {
    const float saved = x[i];
    const float h = static_cast<float>(eps * std::max(1.0, std::fabs(static_cast<double>(saved))));
    x[i] = saved + h;
    const double up = loss();
    x[i] = saved - h;
    const double down = loss();
    x[i] = saved;
    // The actual step in fp32 (saved ± h is rounded), so the quotient uses it.
    const double step = static_cast<double>(saved + h) - static_cast<double>(saved - h);
    const double numeric = (up - down) / step;
    const double e = numeric - analytic[i];
    diff_sq += e * e;
    num_sq += numeric * numeric;
    ana_sq += static_cast<double>(analytic[i]) * analytic[i];
    r.max_abs_error = std::max(r.max_abs_error, std::fabs(e));
    ++r.checked;
  }
  r.error_norm = std::sqrt(diff_sq);
  r.scale = std::max(std::sqrt(num_sq), std::sqrt(ana_sq));
  r.relative_error = r.error_norm / std::max(r.scale, 1e-12);
  return r;
}

double check_directional(const std::function<double()>& loss, std::span<float> x, std::span<const float> analytic,
                         double step) {
  if (analytic.size() != x.size()) throw std::invalid_argument("check_directional: x and analytic sizes differ");
  double norm_sq = 0;
  for (float g : analytic) norm_sq += static_cast<double>(g) * g;
  const double norm = std::sqrt(norm_sq);
  const std::vector<float> saved(x.begin(), x.end());
  auto shifted = [&](double sign) {
    for (std::size_t i = 0; i < x.size(); ++i)
      x[i] = static_cast<float>(saved[i] + sign * step * (norm > 0 ? analytic[i] / norm : 0.0));
    return loss();
  };
  const double numeric = (shifted(1.0) - shifted(-1.0)) / (2 * step);
  std::copy(saved.begin(), saved.end(), x.begin());
  return norm > 0 ? std::fabs(numeric - norm) / norm : std::fabs(numeric);
}

}  // namespace sb::train
