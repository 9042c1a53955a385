// oracle_topk_grouped on CUDA against the CPU oracle: the same (head, key) pairs per query (radix
// select over fp64 log-probabilities, ties in (key, head) order) and output in fp32, heads that get no
// key included; fp16/bf16 on the rounded inputs; all pairs tied; the causal canary.
#include "tests/device/sparse_cuda_test_util.hpp"

using namespace sb;

TEST_CASE("oracle_topk_grouped on CUDA matches the CPU: pairs, output, half types",
          "[gpu][oracle_topk_grouped][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("oracle_topk_grouped");
  REQUIRE(v);
  const auto params = u::resolve(*v, {});
  const u::shape shapes[] = {{1, 1, 1, 32}, {2, 3, 129, 64}, {1, 4, 300, 24}};
  for (const auto& s : shapes)
    for (bool causal : {false, true})
      for (int k : {1, 5, s.t}) {
        const problem p = u::make_problem(s, causal, k);
        u::check_fp32(*v, p, params, 131);
        if (s.t == 129 && k == 5) u::check_half_types(*v, p, params, 132);
      }
  // Heads of very different peakiness: the sharp head takes most of the budget, others may get none.
  const problem p = u::make_problem({1, 3, 150, 32}, false, 2);
  auto q = test::normal_tensor(p.qkv_elements(), 133, 1);
  for (std::size_t e = 0; e < q.size() / 3; ++e) q[e] *= 8.0f;  // head 0
  u::check_fp32_on(*v, p, params, q, test::normal_tensor(p.qkv_elements(), 133, 2),
                   test::normal_tensor(p.qkv_elements(), 133, 3));
#endif
}

TEST_CASE("oracle_topk_grouped on CUDA takes tied pairs in (key, head) order", "[gpu][oracle_topk_grouped][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("oracle_topk_grouped");
  for (bool causal : {false, true}) {
    const problem p = u::make_problem({2, 3, 120, 32}, causal, 7);
    // Zero keys: every pair of a row has log-probability −log L in every head, one big tie.
    const std::vector<float> k(p.qkv_elements(), 0.0f);
    u::check_fp32_on(*v, p, u::resolve(*v, {}), test::normal_tensor(p.qkv_elements(), 134, 1), k,
                     test::normal_tensor(p.qkv_elements(), 134, 3));
  }
#endif
}

TEST_CASE("oracle_topk_grouped on CUDA is causal (canary)", "[gpu][oracle_topk_grouped][sparse_cuda][causal]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("oracle_topk_grouped");
  u::check_causal_canary(*v, u::make_problem({1, 3, 160, 32}, true, 6), u::resolve(*v, {}), 135);
#endif
}
