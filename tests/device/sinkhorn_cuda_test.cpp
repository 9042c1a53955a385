// sinkhorn on CUDA against the CPU sinkhorn: the same sorted-in blocks (pooled top-n and
// Sinkhorn-balanced) and output in fp32, ragged last blocks, several sorted-in blocks; fp16/bf16 on
// the rounded inputs; the causal canary; the balance error of the device's Sinkhorn matrices.
#include "tests/device/sparse_cuda_test_util.hpp"

using namespace sb;

TEST_CASE("sinkhorn on CUDA matches the CPU: blocks, output, half types", "[gpu][sinkhorn][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("sinkhorn");
  REQUIRE(v);
  const u::shape shapes[] = {{1, 1, 1, 32}, {2, 3, 129, 64}, {1, 2, 300, 24}};
  for (const auto& s : shapes)
    for (bool causal : {false, true})
      for (int k : {16, 50, s.t})
        for (std::int64_t n_sorted : {1, 3})
          for (const char* sort : {"pooled_topk", "pooled_sinkhorn"}) {
            if (causal && std::string(sort) == "pooled_sinkhorn") continue;  // non-causal only
            const problem p = u::make_problem(s, causal, k);
            const auto params = u::resolve(*v, {{"n_sorted", n_sorted}, {"sort", std::string(sort)}});
            u::check_fp32(*v, p, params, 141);
            if (s.t == 129 && k == 16) u::check_half_types(*v, p, params, 142);
          }
#endif
}

TEST_CASE("sinkhorn on CUDA reports a small balance error and the sort time", "[gpu][sinkhorn][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("sinkhorn");
  const problem p = u::make_problem({1, 2, 512, 32}, false, 32);
  const auto params = u::resolve(*v, {{"sort", std::string("pooled_sinkhorn")}, {"sinkhorn_iters", std::int64_t{50}}});
  const auto q = test::normal_tensor(p.qkv_elements(), 143, 1), k = test::normal_tensor(p.qkv_elements(), 143, 2),
             vv = test::normal_tensor(p.qkv_elements(), 143, 3);
  attention_support support;
  run_context ctx;
  ctx.support = &support;
  (void)test::run_on_cuda(*v, p, params, q, k, vv, &ctx);
  REQUIRE(ctx.extras.count("sinkhorn_balance_err") == 1);
  CHECK(ctx.extras["sinkhorn_balance_err"] < 1e-3);  // 50 rounds balance a 16×16 matrix well
  REQUIRE(ctx.extras.count("sinkhorn_sort_ms") == 1);
  CHECK(ctx.extras["sinkhorn_sort_ms"] > 0.0);
#endif
}

TEST_CASE("sinkhorn on CUDA is causal (canary)", "[gpu][sinkhorn][sparse_cuda][causal]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("sinkhorn");
  u::check_causal_canary(*v, u::make_problem({1, 2, 160, 32}, true, 16), u::resolve(*v, {{"n_sorted", std::int64_t{2}}}),
                         144);
#endif
}
