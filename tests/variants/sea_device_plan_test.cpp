// SEA's host-side pieces of the GPU path, tested on the CPU: the device plan (selection offsets from the
// budget rules, the FlatCSR key bound), the sparse_impl parameter, the CPU's dtype rule, and (in CUDA
// builds) the CUDA memory model's growth in T.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/device_plan.hpp"
#include "attention_variants/sea/flat_csr.hpp"
#include "attention_variants/sea/topk.hpp"
#include "harness/core/errors.hpp"
#include "tests/variants/sea_test_util.hpp"
#ifdef SEABENCH_HAVE_CUDA
#include "attention_variants/sea/pipeline_cuda.hpp"
#endif

using namespace sb;
using sea_test::make_problem;
using sea_test::params_with;

namespace {

/// Â with ties (values on a coarse grid), so selections exercise the tie rule.
std::vector<float> tied_ahat(const problem& p, const sea::config& c, std::uint64_t seed) {
  counter_rng rng(seed, 99);
  std::vector<float> a(static_cast<std::size_t>(p.batch) * p.heads * c.estimator_rows(p.seq_len) * c.K);
  for (auto& x : a) x = static_cast<float>(std::floor(rng.uniform() * 8.0)) / 8.0f;
  return a;
}

}  // namespace

TEST_CASE("sea device plan: selection offsets and the FlatCSR bound match the CPU stages", "[sea]") {
  for (bool causal : {false, true})
    for (const char* mode : {"causal_batch", "query"})
      for (const char* up : {"csr", "nearest"})
        for (double oversample : {1.0, 1.5})
          for (int k : {2, 7}) {
            const problem p = make_problem(157, causal, k, 3, 8, 2);
            const sea::config c = sea::make_config(
                p, params_with({{"K", std::int64_t{12}}, {"topk_mode", std::string(mode)},
                                {"upsample", std::string(up)}, {"k_oversample", oversample},
                                {"query_skip", std::int64_t{2}}}));
            INFO("causal=" << causal << " mode=" << mode << " upsample=" << up << " o=" << oversample << " k=" << k);
            const sea::device_plan plan = sea::make_device_plan(p, c);
            const std::vector<float> ahat = tied_ahat(p, c, 5 + k);
            const sea::selection sel = sea::grouped_topk(p, c, ahat.data());
            REQUIRE(plan.selection_row_ptr.size() == sel.row_ptr.size());
            CHECK(std::equal(plan.selection_row_ptr.begin(), plan.selection_row_ptr.end(), sel.row_ptr.data()));
            CHECK(plan.cells == sel.row_ptr[sel.row_ptr.size() - 1]);
            const sea::flat_csr csr = sea::upsample(p, c, sel);
            CHECK(plan.max_nnz >= csr.nnz());
            // Spans of one row differ by at most one key, so the bound is within one key per cell.
            CHECK(plan.max_nnz <= csr.nnz() + plan.cells);
          }
}

TEST_CASE("sea max_cell_keep is the largest kept count of any non-empty bin", "[sea]") {
  for (const char* up : {"csr", "nearest"})
    for (int K : {1, 3, 16, 128})
      for (int k : {1, 4, 64})
        for (double o : {1.0, 2.5})
          for (int L : {1, 2, 5, 17, 128, 129, 1000, 4097}) {
            const problem p = make_problem(L, false, k);
            const sea::config c = sea::make_config(
                p, params_with({{"K", std::int64_t{K}}, {"upsample", std::string(up)}, {"k_oversample", o}}));
            std::vector<int> bounds(static_cast<std::size_t>(K) + 1);
            sea::row_bounds(c.upsample, L, K, bounds.data());
            int best = 0;
            for (int b = 0; b < K; ++b)
              if (bounds[b + 1] > bounds[b])
                best = std::max(best, sea::cell_keep(c.upsample, bounds[b + 1] - bounds[b], k, o));
            INFO("upsample=" << up << " K=" << K << " k=" << k << " o=" << o << " L=" << L);
            CHECK(sea::max_cell_keep(c, L) == best);
          }
}

TEST_CASE("sea device plan rejects topk_mode=batch, whose rows depend on the data", "[sea]") {
  const problem p = make_problem(64, false, 4);
  const sea::config c = sea::make_config(p, params_with({{"topk_mode", std::string("batch")}}));
  CHECK_THROWS_AS(sea::make_device_plan(p, c), unsupported_case);
}

TEST_CASE("sea sparse_impl: both values parse, the CPU output does not depend on it, others are rejected", "[sea]") {
  const problem p = make_problem(96, true, 8);
  const auto in = sea_test::random_inputs(p, 3);
  const auto fused = params_with({{"sparse_impl", std::string("fused")}});
  const auto cus = params_with({{"sparse_impl", std::string("cusparse")}});
  CHECK(sea::make_config(p, fused).sparse == sea::sparse_impl::fused);
  CHECK(sea::make_config(p, cus).sparse == sea::sparse_impl::cusparse);
  CHECK(sea::make_config(p, params_with({})).sparse == sea::sparse_impl::fused);
  CHECK(sea_test::run_sea(p, fused, in).out == sea_test::run_sea(p, cus, in).out);
  CHECK_THROWS(params_with({{"sparse_impl", std::string("cublas")}}));
}

TEST_CASE("sea on the CPU computes in fp32 only and says where half precision runs", "[sea]") {
  const attention_variant* v = variant_registry::instance().find("sea");
  REQUIRE(v);
  problem p = make_problem(32, false, 4);
  p.type = dtype::fp16;
  const auto params = v->parameters().resolve("sea", {});
  try {
    (void)v->instantiate(p, params, device_kind::cpu);
    FAIL("fp16 on the CPU was accepted");
  } catch (const unsupported_case& e) {
    CHECK_THAT(e.what(), Catch::Contains("fp32 only") && Catch::Contains("CUDA"));
  }
#ifdef SEABENCH_HAVE_CUDA
  CHECK(v->caps().cuda);
#else
  CHECK_FALSE(v->caps().cuda);
  CHECK_THROWS_AS(v->instantiate(make_problem(32, false, 4), params, device_kind::cuda), unsupported_case);
#endif
}

#ifdef SEABENCH_HAVE_CUDA
TEST_CASE("sea CUDA memory model: linear in T at fixed k and K, output in the case dtype", "[sea]") {
  for (bool causal : {false, true})
    for (const char* est : {"performer_hist", "pooled"})
      for (const char* impl : {"fused", "cusparse"}) {
        problem p = make_problem(16384, causal, 64, 1, 128);
        p.type = dtype::fp16;
        const auto params = params_with({{"estimator", std::string(est)}, {"sparse_impl", std::string(impl)}});
        problem p2 = p;
        p2.seq_len *= 2;
        const std::size_t a = sea::gpu::memory_bytes(p, sea::make_config(p, params));
        const std::size_t b = sea::gpu::memory_bytes(p2, sea::make_config(p2, params));
        INFO("causal=" << causal << " estimator=" << est << " impl=" << impl << " bytes " << a << " -> " << b);
        CHECK(a >= p.qkv_elements() * 2);  // at least the fp16 output
        CHECK(static_cast<double>(b) <= 2.05 * static_cast<double>(a));
        CHECK(static_cast<double>(b) >= 1.9 * static_cast<double>(a));
      }
}
#endif
