// performer, linear and cosformer on the GPU against their CPU implementations: fp32 within 1e-4,
// fp16 / bf16 against the CPU on the same rounded inputs (the device widens to fp32 and only the
// output is rounded: fp16 2e-3, bf16 1e-2), every feature map, causal and not, shapes that end in a
// partial scan chunk; the causal canary on the device; the performer's largest non-causal budget.
#include "tests/device/gpu_test_support.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "harness/core/errors.hpp"
#include "harness/core/params.hpp"

using namespace sb;

namespace {

struct kernel_case {
  const char* variant;
  std::vector<std::pair<std::string, param_value>> params;
};

std::vector<kernel_case> kernel_cases() {
  return {
      {"performer", {{"kernel", std::string("softmax")}}},
      {"performer", {{"kernel", std::string("relu")}}},
      {"performer", {{"kernel", std::string("softmax")}, {"nbf", std::int64_t{8}}}},
      {"linear", {{"feature", std::string("elu")}}},
      {"linear", {{"feature", std::string("relu")}}},
      {"cosformer", {}},
  };
}

#ifdef SEABENCH_HAVE_CUDA
param_set resolve(const attention_variant& v, const kernel_case& c) {
  std::map<std::string, param_value> given(c.params.begin(), c.params.end());
  return v.parameters().resolve(std::string(v.name()), given);
}
#endif

}  // namespace

TEST_CASE("kernel methods on CUDA match the CPU in fp32", "[gpu][kernel_methods]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  cuda::context::instance().set_allow_tf32(false);
  for (const auto& c : kernel_cases()) {
    const auto* v = variant_registry::instance().find(c.variant);
    REQUIRE(v);
    const auto params = resolve(*v, c);
    for (bool causal : {false, true})
      for (int t : {1, 63, 64, 200}) {  // one row, a partial chunk, one full chunk, full chunks + a tail
        problem p;
        p.batch = 2;
        p.heads = 2;
        p.seq_len = t;
        p.head_dim = 32;
        p.causal = causal;
        p.seed = 5;
        const auto q = test::normal_tensor(p.qkv_elements(), 41, 1), k = test::normal_tensor(p.qkv_elements(), 41, 2),
                   vv = test::normal_tensor(p.qkv_elements(), 41, 3);
        INFO(c.variant << " " << params.canonical() << " causal=" << causal << " T=" << t);
        const auto cpu = test::run_on_cpu(*v, p, params, q, k, vv);
        const auto gpu = test::run_on_cuda(*v, p, params, q, k, vv);
        CHECK(test::rel_fro(gpu, cpu) <= 1e-4);
      }
  }
#endif
}

TEST_CASE("kernel methods on CUDA in fp16 and bf16 match the CPU on the rounded inputs", "[gpu][kernel_methods]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  for (const auto& c : kernel_cases()) {
    const auto* v = variant_registry::instance().find(c.variant);
    const auto params = resolve(*v, c);
    for (dtype type : {dtype::fp16, dtype::bf16})
      for (bool causal : {false, true}) {
        problem p;
        p.batch = 1;
        p.heads = 3;
        p.seq_len = 150;
        p.head_dim = 64;
        p.causal = causal;
        p.seed = 9;
        p.type = type;
        const auto q = test::normal_tensor(p.qkv_elements(), 43, 1), k = test::normal_tensor(p.qkv_elements(), 43, 2),
                   vv = test::normal_tensor(p.qkv_elements(), 43, 3);
        problem p_cpu = p;
        p_cpu.type = dtype::fp32;
        INFO(c.variant << " " << params.canonical() << " " << to_string(type) << " causal=" << causal);
        const auto cpu = test::run_on_cpu(*v, p_cpu, params, cuda::round_through(type, q), cuda::round_through(type, k),
                                          cuda::round_through(type, vv));
        const auto gpu = test::run_on_cuda(*v, p, params, q, k, vv);
        CHECK(test::rel_fro(gpu, cpu) <= (type == dtype::fp16 ? 2e-3 : 1e-2));
      }
  }
#endif
}

TEST_CASE("causal kernel methods on CUDA never read later keys (causal canary)", "[gpu][kernel_methods][causal]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  for (const auto& c : kernel_cases()) {
    const auto* v = variant_registry::instance().find(c.variant);
    const auto params = resolve(*v, c);
    problem p;
    p.batch = 1;
    p.heads = 2;
    p.seq_len = 160;
    p.head_dim = 32;
    p.causal = true;
    p.seed = 3;
    const auto q = test::normal_tensor(p.qkv_elements(), 47, 1), k = test::normal_tensor(p.qkv_elements(), 47, 2),
               vv = test::normal_tensor(p.qkv_elements(), 47, 3);
    for (int cut : {0, 70, 127}) {  // change every key and value after position `cut` (inside / at a chunk edge)
      auto k2 = k, v2 = vv;
      for (int h = 0; h < p.heads; ++h)
        for (int j = cut + 1; j < p.seq_len; ++j)
          for (int x = 0; x < p.head_dim; ++x) {
            const std::size_t e = (static_cast<std::size_t>(h) * p.seq_len + j) * p.head_dim + x;
            k2[e] = 3.0f * k[e] + 1.0f;  // large keys also move the performer's running stabiliser
            v2[e] = -v2[e] + 0.5f;
          }
      const auto a = test::run_on_cuda(*v, p, params, q, k, vv);
      const auto b = test::run_on_cuda(*v, p, params, q, k2, v2);
      double worst = 0;
      for (int h = 0; h < p.heads; ++h) {
        std::vector<float> ra, rb;
        for (int i = 0; i <= cut; ++i)
          for (int x = 0; x < p.head_dim; ++x) {
            const std::size_t e = (static_cast<std::size_t>(h) * p.seq_len + i) * p.head_dim + x;
            ra.push_back(a[e]);
            rb.push_back(b[e]);
          }
        worst = std::max(worst, test::rel_fro(rb, ra));
      }
      INFO(c.variant << " " << params.canonical() << " cut=" << cut);
      CHECK(worst <= std::max(v->caps().causal_canary_rel_tol, 1e-6));
      // and the rows after the cut did change (the canary can fail)
      CHECK(test::rel_fro(b, a) > 1e-3);
    }
  }
#endif
}

TEST_CASE("performer on CUDA matches the CPU at its largest non-causal budget", "[gpu][kernel_methods]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  cuda::context::instance().set_allow_tf32(false);
  const auto* v = variant_registry::instance().find("performer");
  problem p;
  p.batch = 1;
  p.heads = 2;
  p.seq_len = 256;
  p.head_dim = 16;
  p.seed = 11;
  const auto q = test::normal_tensor(p.qkv_elements(), 53, 1), k = test::normal_tensor(p.qkv_elements(), 53, 2),
             vv = test::normal_tensor(p.qkv_elements(), 53, 3);
  for (const auto& rung : v->budget_ladder(p)) {
    const auto params = v->parameters().resolve("performer", rung.params);
    INFO(params.canonical());
    CHECK(test::rel_fro(test::run_on_cuda(*v, p, params, q, k, vv), test::run_on_cpu(*v, p, params, q, k, vv)) <= 1e-4);
  }
  // A causal state that cannot fit in shared memory is an unsupported case, not a wrong answer.
  p.causal = true;
  const auto huge = v->parameters().resolve("performer", {{"features", std::int64_t{65536}}});
  CHECK_THROWS_AS(test::run_on_cuda(*v, p, huge, q, k, vv), unsupported_case);
#endif
}
