// reformer on CUDA against the CPU reformer: the same hashes (rotations drawn on the host from the
// seed), the same (bucket, position) order and chunk windows, so the same support, and the same
// output in fp32 (self rule, dedup, multi-round combine); fp16/bf16 on the rounded inputs; the causal
// canary. A bucket is an argmax, so a near-tie between two rotated coordinates could hash differently
// on the two devices (GEMM vs dot-product summation order); the support check would name such a row.
#include "tests/device/sparse_cuda_test_util.hpp"

using namespace sb;

TEST_CASE("reformer on CUDA matches the CPU: support, output, half types", "[gpu][reformer][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("reformer");
  REQUIRE(v);
  const u::shape shapes[] = {{1, 1, 1, 32}, {2, 3, 129, 64}, {1, 2, 300, 24}};
  for (const auto& s : shapes)
    for (bool causal : {false, true})
      for (int k : {16, 50, s.t})
        for (std::int64_t n_hashes : {1, 4})
          for (bool dedup : {true, false}) {
            const problem p = u::make_problem(s, causal, k);
            const auto params = u::resolve(*v, {{"n_hashes", n_hashes}, {"dedup", dedup}});
            u::check_fp32(*v, p, params, 151);
            if (s.t == 129 && k == 16 && dedup) u::check_half_types(*v, p, params, 152);
          }
  // Explicit bucket count, half_chunk rule.
  const problem p = u::make_problem({1, 2, 200, 32}, false, 20);
  u::check_fp32(*v, p, u::resolve(*v, {{"n_buckets", std::int64_t{6}}}), 153);
  u::check_fp32(*v, p, u::resolve(*v, {{"bucket_rule", std::string("half_chunk")}}), 154);
#endif
}

TEST_CASE("reformer on CUDA is causal (canary)", "[gpu][reformer][sparse_cuda][causal]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("reformer");
  u::check_causal_canary(*v, u::make_problem({1, 2, 160, 32}, true, 16), u::resolve(*v, {{"n_hashes", std::int64_t{4}}}),
                         155);
#endif
}
