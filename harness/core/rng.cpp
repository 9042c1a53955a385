#include "harness/core/rng.hpp"

#include <cmath>
#include <numbers>

namespace sb {

double counter_rng::normal() {
  const double u1 = uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace sb
