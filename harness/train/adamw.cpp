#include "harness/train/adamw.hpp"

#include <cmath>
#include <stdexcept>

namespace sb::train {

void adamw_step(const adamw_settings& s, std::int64_t t, std::span<float> p, std::span<const float> g,
                std::span<float> m, std::span<float> v) {
  if (t < 1) throw std::invalid_argument("adamw_step: the step count starts at 1");
  if (g.size() != p.size() || m.size() != p.size() || v.size() != p.size())
    throw std::invalid_argument("adamw_step: parameter, gradient and state sizes differ");
  const double bc1 = 1.0 - std::pow(s.beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(s.beta2, static_cast<double>(t));
  const double decay = 1.0 - s.lr * s.weight_decay;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double gi = g[i];
    const double mi = s.beta1 * m[i] + (1.0 - s.beta1) * gi;
    const double vi = s.beta2 * v[i] + (1.0 - s.beta2) * gi * gi;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    const double denom = std::sqrt(vi) / std::sqrt(bc2) + s.eps;
    p[i] = static_cast<float>(p[i] * decay - s.lr / bc1 * mi / denom);
  }
}

double clip_grad_norm(const std::vector<std::span<float>>& grads, double max_norm) {
  double sq = 0;
  for (const auto& g : grads)
    for (float x : g) sq += static_cast<double>(x) * x;
  const double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (const auto& g : grads)
      for (float& x : g) x *= scale;
  }
  return norm;
}

}  // namespace sb::train
