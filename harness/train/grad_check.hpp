// Finite-difference gradient checker for the hand-written backward passes (tests/train/). Central
// differences of a scalar loss (evaluated in double by the caller) over fp32 parameters.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

namespace sb::train {

struct grad_check_result {
  double relative_error = 0;  ///< ‖numeric − analytic‖ / max(‖numeric‖, ‖analytic‖, 1e-12) over checked coordinates
  double error_norm = 0;      ///< ‖numeric − analytic‖
  double scale = 0;           ///< max(‖numeric‖, ‖analytic‖)
  double max_abs_error = 0;   ///< largest |numeric − analytic| of one coordinate
  int checked = 0;            ///< coordinates checked
};

/// Perturb up to `max_coords` coordinates of `x` (all when x is smaller; otherwise an evenly strided
/// subset) by ±eps·max(1, |x_i|), evaluate `loss`, and compare (L+ − L−)/(2h) with analytic[i]. x is
/// restored after each coordinate.
[[nodiscard]] grad_check_result check_gradient(const std::function<double()>& loss, std::span<float> x,
                                               std::span<const float> analytic, double eps, int max_coords = 1 << 30);

/// Directional check along the analytic gradient g: (L(x + h·u) − L(x − h·u)) / 2h with u = g/‖g‖ must equal
/// ‖g‖. It sums the signal of every coordinate, so it stays far above fp32 rounding where a per-coordinate
/// check of small gradients cannot. Returns |numeric − ‖g‖| / ‖g‖ (x is restored; ‖g‖ = 0 returns the
/// numeric derivative's magnitude).
[[nodiscard]] double check_directional(const std::function<double()>& loss, std::span<float> x,
                                       std::span<const float> analytic, double step);

}  // namespace sb::train
