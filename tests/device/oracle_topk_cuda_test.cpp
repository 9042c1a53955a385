// oracle_topk on CUDA against the CPU oracle: the same top-k keys (radix select vs the CPU's
// nth_element, ties to the lower key index) and output in fp32; fp16/bf16 on the rounded inputs; all
// scores tied; a sequence long enough to need several score tiles; the causal canary.
#include "tests/device/sparse_cuda_test_util.hpp"

#include "attention_variants/sparse_common/oracle_tiles.hpp"

using namespace sb;

TEST_CASE("oracle_topk on CUDA matches the CPU: keys, output, half types", "[gpu][oracle_topk][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("oracle_topk");
  REQUIRE(v);
  const auto params = u::resolve(*v, {});
  const u::shape shapes[] = {{1, 1, 1, 32}, {2, 3, 129, 64}, {1, 2, 300, 24}, {1, 1, 97, 256}};
  for (const auto& s : shapes)
    for (bool causal : {false, true})
      for (int k : {1, 7, 64, s.t}) {
        const problem p = u::make_problem(s, causal, k);
        u::check_fp32(*v, p, params, 121);
        if (s.t == 129 && k == 7) u::check_half_types(*v, p, params, 122);
      }
#endif
}

TEST_CASE("oracle_topk on CUDA breaks ties by the lower key index", "[gpu][oracle_topk][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("oracle_topk");
  for (bool causal : {false, true}) {
    const problem p = u::make_problem({1, 2, 200, 32}, causal, 9);
    const auto q = test::normal_tensor(p.qkv_elements(), 123, 1), vv = test::normal_tensor(p.qkv_elements(), 123, 3);
    // Zero keys: every score is exactly ±0 whatever the summation order, so every score ties.
    const std::vector<float> k(p.qkv_elements(), 0.0f);
    u::check_fp32_on(*v, p, u::resolve(*v, {}), q, k, vv);
  }
#endif
}

TEST_CASE("oracle_topk on CUDA over several score tiles", "[gpu][oracle_topk][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("oracle_topk");
  const problem p = u::make_problem({1, 1, 8300, 32}, false, 16);
  REQUIRE(sparse::oracle_cuda_tile_rows(p) < p.seq_len);  // at least two tiles
  u::check_fp32(*v, p, u::resolve(*v, {}), 124);
#endif
}

TEST_CASE("oracle_topk on CUDA is causal (canary)", "[gpu][oracle_topk][sparse_cuda][causal]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("oracle_topk");
  u::check_causal_canary(*v, u::make_problem({1, 2, 160, 32}, true, 12), u::resolve(*v, {}), 125);
#endif
}
