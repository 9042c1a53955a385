// AdamW against a step computed by hand, and gradient clipping.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "harness/train/adamw.hpp"

TEST_CASE("adamw: two steps equal the hand-computed PyTorch AdamW update", "[train]") {
  sb::train::adamw_settings s;
  s.lr = 0.1;
  s.beta1 = 0.9;
  s.beta2 = 0.99;
  s.eps = 1e-8;
  s.weight_decay = 0.5;
  std::vector<float> p = {1.0f, -2.0f}, m = {0.0f, 0.0f}, v = {0.0f, 0.0f};
  const std::vector<float> g1 = {0.5f, -1.0f}, g2 = {-0.25f, 2.0f};
  sb::train::adamw_step(s, 1, p, g1, m, v);
  // Step 1: p·(1 − 0.05); m = 0.1·g; v = 0.01·g²; m̂ = g, v̂ = g² → p −= 0.1·g/(|g| + eps) = 0.1·sign(g).
  REQUIRE(p[0] == Approx(1.0 * 0.95 - 0.1).epsilon(1e-6));
  REQUIRE(p[1] == Approx(-2.0 * 0.95 + 0.1).epsilon(1e-6));
  REQUIRE(m[0] == Approx(0.05));
  REQUIRE(v[1] == Approx(0.01));
  const double p0 = p[0];
  sb::train::adamw_step(s, 2, p, g2, m, v);
  const double m2 = 0.9 * 0.05 + 0.1 * -0.25;
  const double v2 = 0.99 * (0.01 * 0.25) + 0.01 * 0.0625;
  const double mhat = m2 / (1 - 0.81), vhat = v2 / (1 - 0.9801);
  REQUIRE(p[0] == Approx(p0 * 0.95 - 0.1 * mhat / (std::sqrt(vhat) + 1e-8)).epsilon(1e-6));
}

TEST_CASE("adamw: clip_grad_norm rescales to the maximum norm and leaves small gradients alone", "[train]") {
  std::vector<float> a = {3.0f, 0.0f}, b = {4.0f};
  const double norm = sb::train::clip_grad_norm({a, b}, 1.0);
  REQUIRE(norm == Approx(5.0));
  REQUIRE(a[0] == Approx(0.6).epsilon(1e-5));
  REQUIRE(b[0] == Approx(0.8).epsilon(1e-5));
  REQUIRE(sb::train::clip_grad_norm({a, b}, 10.0) == Approx(1.0).epsilon(1e-5));
  REQUIRE(a[0] == Approx(0.6).epsilon(1e-5));
}
