// window on CUDA against the CPU window: fp32 output and support, fp16/bf16 on the rounded inputs,
// the causal canary, over band widths from one key to the exact setting and with global tokens.
#include "tests/device/sparse_cuda_test_util.hpp"

using namespace sb;

TEST_CASE("window on CUDA matches the CPU: output, support, half types", "[gpu][window][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("window");
  REQUIRE(v);
  const u::shape shapes[] = {{1, 1, 1, 32}, {2, 3, 129, 64}, {1, 2, 300, 24}, {1, 1, 70, 256}};
  for (const auto& s : shapes)
    for (bool causal : {false, true})
      for (int k : {1, 16, 2 * s.t - 1})
        for (std::int64_t global : {0, 3}) {
          const problem p = u::make_problem(s, causal, k);
          const auto params = u::resolve(*v, {{"global_tokens", global}});
          u::check_fp32(*v, p, params, 101);
          if (s.t == 129) u::check_half_types(*v, p, params, 102);
        }
#endif
}

TEST_CASE("window on CUDA is causal (canary)", "[gpu][window][sparse_cuda][causal]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("window");
  for (std::int64_t global : {0, 4})
    u::check_causal_canary(*v, u::make_problem({1, 2, 160, 32}, true, 24), u::resolve(*v, {{"global_tokens", global}}),
                           103);
#endif
}
