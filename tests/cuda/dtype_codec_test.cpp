// Host-side dtype conversion used by the device path: fp32 passes through, fp16 / bf16 round to
// nearest even, and widening back is exact.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "harness/cuda/dtype_codec.hpp"

using namespace sb;
using namespace sb::cuda;

namespace {
std::uint16_t u16_at(const std::vector<std::byte>& b, std::size_t i) {
  std::uint16_t h = 0;
  std::memcpy(&h, b.data() + 2 * i, 2);
  return h;
}
}  // namespace

TEST_CASE("fp32 encoding is a byte copy", "[cuda][dtype]") {
  const std::vector<float> x{1.5f, -0.0f, 3.0e-40f, std::numeric_limits<float>::infinity()};
  const auto bytes = encode_elements(dtype::fp32, x);
  REQUIRE(bytes.size() == x.size() * 4);
  CHECK(std::memcmp(bytes.data(), x.data(), bytes.size()) == 0);
  std::vector<float> back(x.size());
  decode_elements(dtype::fp32, bytes.data(), back);
  CHECK(std::memcmp(back.data(), x.data(), bytes.size()) == 0);
}

TEST_CASE("fp16 encoding rounds to nearest even and overflows to inf", "[cuda][dtype]") {
  const std::vector<float> x{1.0f, -2.0f, 65504.0f, 70000.0f, 1.0f + std::ldexp(1.0f, -11), 0.1f};
  const auto bytes = encode_elements(dtype::fp16, x);
  REQUIRE(bytes.size() == x.size() * 2);
  CHECK(u16_at(bytes, 0) == 0x3c00);
  CHECK(u16_at(bytes, 1) == 0xc000);
  CHECK(u16_at(bytes, 2) == 0x7bff);  // the largest half
  CHECK(u16_at(bytes, 3) == 0x7c00);  // +inf
  CHECK(u16_at(bytes, 4) == 0x3c00);  // halfway between 1 and the next half: ties to even
  std::vector<float> back(x.size());
  decode_elements(dtype::fp16, bytes.data(), back);
  CHECK(back[0] == 1.0f);
  CHECK(back[2] == 65504.0f);
  CHECK(std::isinf(back[3]));
  CHECK(back[5] == Approx(0.1f).epsilon(1e-3));
  CHECK(back[5] != 0.1f);  // 0.1 is not a half
}

TEST_CASE("bf16 encoding keeps the top half of an fp32, rounded to nearest even", "[cuda][dtype]") {
  const std::vector<float> x{1.0f, 1.0f + std::ldexp(1.0f, -8), 1.0f + 3 * std::ldexp(1.0f, -8), 3.0e38f};
  const auto bytes = encode_elements(dtype::bf16, x);
  CHECK(u16_at(bytes, 0) == 0x3f80);
  CHECK(u16_at(bytes, 1) == 0x3f80);  // tie → even
  CHECK(u16_at(bytes, 2) == 0x3f82);  // tie → even (up)
  std::vector<float> back(x.size());
  decode_elements(dtype::bf16, bytes.data(), back);
  CHECK(back[3] == Approx(3.0e38f).epsilon(1e-2));
}

TEST_CASE("round_through is the identity for fp32 and idempotent for the half types", "[cuda][dtype]") {
  std::vector<float> x;
  for (int i = -50; i <= 50; ++i) x.push_back(0.37f * static_cast<float>(i) + 1e-3f);
  CHECK(round_through(dtype::fp32, x) == x);
  for (dtype t : {dtype::fp16, dtype::bf16}) {
    const auto once = round_through(t, x);
    CHECK(round_through(t, once) == once);
    CHECK(once != x);
    for (std::size_t i = 0; i < x.size(); ++i)
      CHECK(std::abs(once[i] - x[i]) <= std::abs(x[i]) * (t == dtype::fp16 ? 1.0f / 2048 : 1.0f / 256));
  }
}
