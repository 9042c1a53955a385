// dense_flash as far as a machine without a GPU can check it: capabilities (GPU only, half types,
// dense_stream as its CPU reference), the unsupported reasons, the FLOP and memory models. The kernel
// itself is checked against the CPU reference in tests/device/dense_flash_test.cpp ([gpu]).
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "harness/core/errors.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/device_memory_model.hpp"

using namespace sb;

namespace {

const attention_variant& flash() {
  const auto* v = variant_registry::instance().find("dense_flash");
  REQUIRE(v);
  return *v;
}

problem shape(int b, int h, int t, int d, bool causal, dtype type = dtype::bf16) {
  problem p;
  p.batch = b;
  p.heads = h;
  p.seq_len = t;
  p.head_dim = d;
  p.causal = causal;
  p.type = type;
  return p;
}

}  // namespace

TEST_CASE("dense_flash is GPU-only, half precision, with dense_stream as its CPU reference", "[dense_flash]") {
  const capabilities c = flash().caps();
  CHECK_FALSE(c.cpu);
  CHECK(c.causal);
  CHECK(c.non_causal);
  CHECK(c.dtypes == std::vector<dtype>{dtype::fp16, dtype::bf16});
  CHECK(c.uses_k == k_usage::none);
  REQUIRE(c.reference_variant == "dense_stream");
  const auto* ref = variant_registry::instance().find(c.reference_variant);
  REQUIRE(ref);
  CHECK(ref->caps().cpu);
#ifdef SEABENCH_HAVE_CUDA
  CHECK(c.cuda);
#else
  CHECK_FALSE(c.cuda);
#endif
}

TEST_CASE("dense_flash names what it cannot run", "[dense_flash]") {
  const auto params = flash().parameters().resolve("dense_flash", {});
  for (int d : {64, 128})
    for (bool causal : {false, true})
      for (dtype t : {dtype::fp16, dtype::bf16}) CHECK_FALSE(flash().check(shape(1, 1, 7, d, causal, t), params));
  for (int d : {16, 32, 63, 96, 192, 256}) {
    INFO("head_dim " << d);
    const auto reason = flash().check(shape(1, 1, 7, d, false), params);
    REQUIRE(reason);
    CHECK(reason->find("head_dim") != std::string::npos);
    CHECK(reason->find(std::to_string(d)) != std::string::npos);
    CHECK_THROWS_AS(flash().instantiate(shape(1, 1, 7, d, false), params, device_kind::cuda), unsupported_case);
  }
  const auto fp32 = flash().check(shape(1, 1, 7, 64, false, dtype::fp32), params);
  REQUIRE(fp32);
  CHECK(fp32->find("fp32") != std::string::npos);
#ifdef SEABENCH_HAVE_CUDA
  const auto fp32_cuda = unsupported_reason(flash(), shape(1, 1, 7, 64, false, dtype::fp32), params, device_kind::cuda);
  REQUIRE(fp32_cuda);
  CHECK(fp32_cuda->find("fp32") != std::string::npos);
#else
  const auto no_cuda = unsupported_reason(flash(), shape(1, 1, 7, 64, false), params, device_kind::cuda);
  REQUIRE(no_cuda);
  CHECK(no_cuda->find("CUDA") != std::string::npos);
#endif
  const auto cpu = unsupported_reason(flash(), shape(1, 1, 7, 64, false), params, device_kind::cpu);
  REQUIRE(cpu);
  CHECK(cpu->find("CPU") != std::string::npos);
  CHECK_THROWS_AS(flash().instantiate(shape(1, 1, 7, 64, false), params, device_kind::cpu), unsupported_case);
}

TEST_CASE("dense_flash counts FLOPs as FlashAttention's benchmark and as its tiles", "[dense_flash]") {
  const auto params = flash().parameters().resolve("dense_flash", {});
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int b = 1 + static_cast<int>(rng() % 3), h = 1 + static_cast<int>(rng() % 4);
    const int t = 1 + static_cast<int>(rng() % 3000), d = rng() % 2 ? 64 : 128;
    const bool causal = rng() % 2;
    INFO("B=" << b << " H=" << h << " T=" << t << " D=" << d << " causal=" << causal);
    const flop_count f = flash().flops(shape(b, h, t, d, causal), params);
    const double full = 4.0 * b * h * double(t) * t * d;
    CHECK(f.dense_equiv == Approx(causal ? full / 2 : full).epsilon(1e-12));
    // Executed: every 64 × 64 (query block, key tile) pair the kernel computes, padding included.
    const double tile = 4.0 * 64 * 64 * d;
    const int blocks = (t + 63) / 64;
    double pairs = 0;
    for (int m = 0; m < blocks; ++m) pairs += causal ? std::min(m + 1, blocks) : blocks;
    CHECK(f.executed == Approx(b * h * pairs * tile).epsilon(1e-12));
    CHECK(f.executed >= (causal ? full / 2 : full));  // padding and the masked diagonal only add
  }
  // Tile-aligned T: non-causal executes exactly the dense FLOPs; causal the lower block triangle.
  const flop_count aligned = flash().flops(shape(1, 16, 4096, 128, false), params);
  CHECK(aligned.executed == aligned.dense_equiv);
  const flop_count tri = flash().flops(shape(1, 1, 64 * 10, 64, true), params);
  CHECK(tri.executed == Approx(4.0 * 64 * 64 * 64 * (10 * 11 / 2)));
  CHECK(flash().flops(shape(1, 1, 1, 64, true), params).executed == Approx(4.0 * 64 * 64 * 64));
}

TEST_CASE("dense_flash allocates the output only, on both memory models", "[dense_flash]") {
  const auto params = flash().parameters().resolve("dense_flash", {});
  for (dtype t : {dtype::fp16, dtype::bf16}) {
    const problem p = shape(2, 3, 1000, 128, true, t);
    CHECK(flash().analytic_memory_bytes(p, params) == p.qkv_elements() * 2);
    CHECK(cuda::cuda_analytic_memory_bytes(flash(), p, params) == p.qkv_elements() * 2);
  }
}
