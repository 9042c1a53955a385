// dense_cudnn on a machine without a GPU: the variant's contract (GPU-only, fp16/bf16, checked by
// dense on the CPU) and the cuDNN version rule it applies at run time.
#include <catch2/catch.hpp>

#include "attention_variants/dense_cudnn/cudnn_version.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/variant.hpp"

using namespace sb;

TEST_CASE("dense_cudnn is GPU-only, half precision, checked by dense", "[dense_cudnn]") {
  const auto* v = variant_registry::instance().find("dense_cudnn");
  REQUIRE(v);
  const capabilities c = v->caps();
  CHECK_FALSE(c.cpu);
  CHECK(c.dtypes == std::vector<dtype>{dtype::fp16, dtype::bf16});
  CHECK(c.causal);
  CHECK(c.non_causal);
  REQUIRE(c.reference_variant == "dense");
  const auto* ref = variant_registry::instance().find(c.reference_variant);
  REQUIRE(ref);
  CHECK(ref->caps().cpu);
#ifdef SEABENCH_HAVE_CUDA
  CHECK(c.cuda);
#else
  CHECK_FALSE(c.cuda);
#endif
  problem p;
  p.type = dtype::fp16;
  const auto params = v->parameters().resolve("dense_cudnn", {});
  CHECK_THROWS_AS(v->instantiate(p, params, device_kind::cpu), unsupported_case);
  CHECK(unsupported_reason(*v, p, params, device_kind::cpu).has_value());
  p.type = dtype::fp32;
  CHECK(unsupported_reason(*v, p, params, device_kind::cuda).has_value());  // no fp32 fused kernel
}

TEST_CASE("dense_cudnn's memory is the output alone: O(T), no score matrix", "[dense_cudnn]") {
  const auto* v = variant_registry::instance().find("dense_cudnn");
  const auto params = v->parameters().resolve("dense_cudnn", {});
  problem p;
  p.batch = 1;
  p.heads = 16;
  p.head_dim = 64;
  p.type = dtype::bf16;
  p.seq_len = 32768;
  CHECK(v->analytic_memory_bytes(p, params) == std::size_t{16} * 32768 * 64 * 2);
  CHECK(v->flops(p, params).executed == v->flops(p, params).dense_equiv);
}

TEST_CASE("cuDNN version numbers decode for both encodings", "[dense_cudnn][cudnn_version]") {
  using cudnn::decode_version;
  CHECK(decode_version(91400) == cudnn::version{9, 14, 0});
  CHECK(decode_version(91900) == cudnn::version{9, 19, 0});
  CHECK(decode_version(90001) == cudnn::version{9, 0, 1});
  CHECK(decode_version(90100) == cudnn::version{9, 1, 0});
  CHECK(decode_version(8907) == cudnn::version{8, 9, 7});
  CHECK(decode_version(8600) == cudnn::version{8, 6, 0});
  CHECK(cudnn::to_string(decode_version(91400)) == "9.14.0");
}

TEST_CASE("dense_cudnn accepts every cuDNN 9 and nothing else", "[dense_cudnn][cudnn_version]") {
  using cudnn::decode_version;
  using cudnn::runtime_unsupported_reason;
  CHECK_FALSE(runtime_unsupported_reason(decode_version(91400)));  // the H200 machine
  CHECK_FALSE(runtime_unsupported_reason(decode_version(91900)));  // the development machines
  CHECK_FALSE(runtime_unsupported_reason(decode_version(90000)));
  const auto old = runtime_unsupported_reason(decode_version(8907));
  REQUIRE(old);
  CHECK(old->find("8.9.7") != std::string::npos);
  const auto next = runtime_unsupported_reason(cudnn::version{10, 0, 0});
  REQUIRE(next);
  CHECK(next->find("10.0.0") != std::string::npos);
}
