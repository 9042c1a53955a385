// bigbird on CUDA against the CPU bigbird: the same random blocks (drawn on the host from the seed),
// so the same support and output in fp32; fp16/bf16 on the rounded inputs; the causal canary; the
// full-attention fallback.
#include "tests/device/sparse_cuda_test_util.hpp"

using namespace sb;

TEST_CASE("bigbird on CUDA matches the CPU: output, support, half types", "[gpu][bigbird][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("bigbird");
  REQUIRE(v);
  struct setting {
    u::shape s;
    std::int64_t block, random_blocks;
  };
  // 300/16 = 19 blocks > 5 + 2·2 (the pattern); 129/64 = 3 blocks (the fallback); a partial last block.
  const setting settings[] = {{{2, 3, 300, 64}, 16, 2}, {{1, 2, 129, 32}, 64, 3}, {{1, 4, 250, 24}, 8, 4}};
  for (const auto& c : settings)
    for (bool causal : {false, true})
      for (std::uint64_t seed : {1u, 2u}) {
        const problem p = u::make_problem(c.s, causal, std::nullopt, seed);
        const auto params = u::resolve(*v, {{"block", c.block}, {"random_blocks", c.random_blocks}});
        u::check_fp32(*v, p, params, 111);
        if (seed == 1) u::check_half_types(*v, p, params, 112);
      }
#endif
}

TEST_CASE("bigbird on CUDA is causal (canary)", "[gpu][bigbird][sparse_cuda][causal]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("bigbird");
  u::check_causal_canary(*v, u::make_problem({1, 2, 320, 32}, true, std::nullopt, 4),
                         u::resolve(*v, {{"block", std::int64_t{16}}, {"random_blocks", std::int64_t{2}}}), 113);
#endif
}
