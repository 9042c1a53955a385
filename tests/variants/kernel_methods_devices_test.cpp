// performer, linear and cosformer across devices, as far as a machine without a GPU can check: the CPU
// stays fp32-only, CUDA (and half precision) is advertised exactly when the build has it, the CUDA
// memory models grow linearly in T, and the causal scan's launch plan fits the shared memory it is given.
#include <catch2/catch.hpp>

#include <algorithm>

#include "attention_variants/linear/causal_scan_plan.hpp"
#include "attention_variants/linear/linear_attention_cuda.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/device_memory_model.hpp"

using namespace sb;

namespace {
constexpr const char* kernel_methods[] = {"performer", "linear", "cosformer"};
}

TEST_CASE("kernel methods run half precision only on CUDA", "[kernel_methods][devices]") {
  for (const char* name : kernel_methods) {
    const auto* v = variant_registry::instance().find(name);
    REQUIRE(v);
    const auto params = v->parameters().resolve(name, {});
    problem p;
    p.seq_len = 16;
    p.head_dim = 8;
    for (dtype t : {dtype::fp16, dtype::bf16}) {
      p.type = t;
      INFO(name << " " << to_string(t));
      CHECK_THROWS_AS(v->instantiate(p, params, device_kind::cpu), unsupported_case);
    }
    p.type = dtype::fp32;
    CHECK(v->instantiate(p, params, device_kind::cpu) != nullptr);
  }
}

TEST_CASE("kernel methods advertise CUDA and half precision exactly when built with CUDA", "[kernel_methods][devices]") {
  for (const char* name : kernel_methods) {
    const capabilities c = variant_registry::instance().find(name)->caps();
    const bool has_fp16 = std::find(c.dtypes.begin(), c.dtypes.end(), dtype::fp16) != c.dtypes.end();
    const bool has_bf16 = std::find(c.dtypes.begin(), c.dtypes.end(), dtype::bf16) != c.dtypes.end();
    INFO(name);
    CHECK(c.cpu);
#ifdef SEABENCH_HAVE_CUDA
    CHECK(c.cuda);
    CHECK(has_fp16);
    CHECK(has_bf16);
#else
    CHECK_FALSE(c.cuda);
    CHECK_FALSE(has_fp16);
    CHECK_FALSE(has_bf16);
    problem p;
    const auto* v = variant_registry::instance().find(name);
    CHECK_THROWS_AS(v->instantiate(p, v->parameters().resolve(name, {}), device_kind::cuda), unsupported_case);
#endif
  }
}

TEST_CASE("CUDA memory models of the kernel methods are linear in T and count the output", "[kernel_methods][devices]") {
  for (const char* name : kernel_methods) {
    const auto* v = variant_registry::instance().find(name);
    const auto params = v->parameters().resolve(name, {});
    for (bool causal : {false, true})
      for (dtype t : {dtype::fp32, dtype::fp16}) {
        problem p;
        p.batch = 2;
        p.heads = 3;
        p.head_dim = 64;
        p.causal = causal;
        p.type = t;
        p.seq_len = 1000;
        const std::size_t small = cuda::cuda_analytic_memory_bytes(*v, p, params);
        p.seq_len = 2000;
        const std::size_t large = cuda::cuda_analytic_memory_bytes(*v, p, params);
        p.seq_len = 3000;
        const std::size_t larger = cuda::cuda_analytic_memory_bytes(*v, p, params);
        INFO(name << " causal=" << causal << " " << to_string(t));
        CHECK(small > std::size_t{2 * 3 * 1000 * 64} * dtype_bytes(t));  // more than the output alone
        CHECK(large - small == larger - large);  // affine in T: no T² term
      }
  }
}

TEST_CASE("non-causal linear attention on CUDA needs the state, numerators and (half) widened values", "[kernel_methods][devices]") {
  linear_cuda::feature_attention a{.heads = 6, .t = 100, .features = 32, .dv = 16, .type = dtype::fp32, .causal = false};
  const std::size_t fp32 = linear_cuda::attend_scratch_bytes(a);
  CHECK(fp32 == (6 * 32 * 16 + 6 * 32 + 6 * 100 * 16) * sizeof(float));
  a.type = dtype::bf16;
  CHECK(linear_cuda::attend_scratch_bytes(a) == fp32 + 6 * 100 * 16 * sizeof(float));
  a.causal = true;  // the scan keeps its state in shared memory
  CHECK(linear_cuda::attend_scratch_bytes(a) == 0);
}

TEST_CASE("the causal scan plan takes the widest value tile that fits", "[kernel_methods][causal_scan]") {
  using namespace sb::linear_cuda;
  for (int features : {1, 16, 64, 77, 128, 256, 621, 1000, 1500}) {
    for (int dv : {1, 7, 16, 64, 128}) {
      INFO("F = " << features << ", dv = " << dv);
      const auto plan = plan_causal_scan(features, dv, sm90_max_shared_bytes);
      REQUIRE(plan);
      CHECK(plan->shared_bytes == causal_scan_shared_bytes(features, plan->value_tile));
      CHECK(plan->shared_bytes <= sm90_max_shared_bytes);
      CHECK(plan->value_tile >= 1);
      CHECK(plan->value_tile <= 32);
      CHECK((plan->value_tile <= dv || plan->value_tile == 1));
      // widest: doubling the tile (while still ≤ 32 and ≤ dv) would not fit
      const int wider = plan->value_tile * 2;
      if (wider <= 32 && wider <= dv) CHECK(causal_scan_shared_bytes(features, wider) > sm90_max_shared_bytes);
    }
  }
  // the H200 figure's shapes: performer nbf = 8 (77 features), cosformer 2d = 256, linear d = 128
  CHECK(plan_causal_scan(77, 128, sm90_max_shared_bytes)->value_tile == 32);
  CHECK(plan_causal_scan(256, 128, sm90_max_shared_bytes)->value_tile == 32);
  CHECK(plan_causal_scan(128, 128, sm90_max_shared_bytes)->value_tile == 32);
}

TEST_CASE("the causal scan plan refuses states that cannot fit", "[kernel_methods][causal_scan]") {
  using namespace sb::linear_cuda;
  CHECK(plan_causal_scan(16384, 64, sm90_max_shared_bytes)->value_tile == 2);  // the ladder's top: 2 columns
  CHECK_FALSE(plan_causal_scan(65536, 64, sm90_max_shared_bytes));  // performer's largest `features`
  CHECK_FALSE(plan_causal_scan(0, 64, sm90_max_shared_bytes));
  CHECK_FALSE(plan_causal_scan(64, 0, sm90_max_shared_bytes));
  // shared bytes: S [F, tile], z [F], A [C, C], values [C, tile], three [C] factors (causal_scan.cu's layout)
  CHECK(causal_scan_shared_bytes(10, 4) ==
        (10 * 4 + 10 + scan_chunk * scan_chunk + scan_chunk * 4 + 3 * scan_chunk) * sizeof(float));
}
