// dense and dense_stream across devices, as far as a machine without a GPU can check: the CPU
// implementations stay fp32-only, and CUDA is advertised exactly when the build has it.
#include <catch2/catch.hpp>

#include <algorithm>

#include "harness/core/errors.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/device_memory_model.hpp"

using namespace sb;

TEST_CASE("dense variants run half precision only on CUDA", "[dense][devices]") {
  for (const char* name : {"dense", "dense_stream"}) {
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

TEST_CASE("dense variants advertise CUDA and half precision exactly when built with CUDA", "[dense][devices]") {
  for (const char* name : {"dense", "dense_stream"}) {
    const capabilities c = variant_registry::instance().find(name)->caps();
    const bool has_fp16 = std::find(c.dtypes.begin(), c.dtypes.end(), dtype::fp16) != c.dtypes.end();
    const bool has_bf16 = std::find(c.dtypes.begin(), c.dtypes.end(), dtype::bf16) != c.dtypes.end();
    INFO(name);
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

TEST_CASE("device memory models of the dense variants", "[dense][devices]") {
  problem p;
  p.batch = 2;
  p.heads = 3;
  p.seq_len = 100;
  p.head_dim = 64;
  const auto* dense = variant_registry::instance().find("dense");
  const auto* stream = variant_registry::instance().find("dense_stream");
  const auto dense_params = dense->parameters().resolve("dense", {});
  const auto stream_params = stream->parameters().resolve("dense_stream", {});
  const std::size_t scores = 2ull * 3 * 100 * 100 * 4;
  for (dtype t : {dtype::fp32, dtype::fp16, dtype::bf16}) {
    p.type = t;
    const std::size_t out = p.qkv_elements() * dtype_bytes(t);
    // dense: fp32 scores (half P packed inside them) + the output, on either device.
    CHECK(dense->analytic_memory_bytes(p, dense_params) == scores + out);
    CHECK(cuda::cuda_analytic_memory_bytes(*dense, p, dense_params) == scores + out);
    // dense_stream on CUDA: the output only; on the CPU also its tiles.
    CHECK(cuda::cuda_analytic_memory_bytes(*stream, p, stream_params) == out);
  }
  p.type = dtype::fp32;
  CHECK(stream->analytic_memory_bytes(p, stream_params) > cuda::cuda_analytic_memory_bytes(*stream, p, stream_params));
}
