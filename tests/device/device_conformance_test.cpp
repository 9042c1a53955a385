// GPU conformance: every registered variant with a CUDA implementation computes on the device what it
// computes on the CPU (fp32, relative Frobenius difference ≤ 1e-4), under its default parameters and
// under its exact setting, causal and not as it supports. Randomised variants draw their random parts
// from the seed on both devices, so they are held to the same bound.
#include "tests/device/gpu_test_support.hpp"

using namespace sb;

TEST_CASE("variants with CUDA give the CPU's output on the device", "[gpu][conformance]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  cuda::context::instance().set_allow_tf32(false);
  int checked = 0;
  for (const attention_variant* v : variant_registry::instance().all()) {
    const capabilities caps = v->caps();
    if (!caps.cuda || !caps.cpu || v->name().starts_with("test_")) continue;
    std::vector<bool> modes;
    if (caps.non_causal) modes.push_back(false);
    if (caps.causal) modes.push_back(true);
    for (bool causal : modes) {
      problem p;
      p.batch = 2;
      p.heads = 3;
      p.seq_len = 129;
      p.head_dim = 64;
      p.causal = causal;
      p.seed = 17;
      if (caps.uses_k != k_usage::none) p.k = 16;
      std::vector<std::pair<std::string, budget_setting>> settings{{"defaults", {}}};
      if (auto exact = v->exact_setting(p)) settings.emplace_back("exact", *exact);
      for (const auto& [label, setting] : settings) {
        problem pc = p;
        if (setting.k) pc.k = setting.k;
        const auto params = v->parameters().resolve(std::string(v->name()), setting.params);
        if (unsupported_reason(*v, pc, params, device_kind::cuda)) continue;
        const auto q = test::normal_tensor(pc.qkv_elements(), 23, 1), k = test::normal_tensor(pc.qkv_elements(), 23, 2),
                   vv = test::normal_tensor(pc.qkv_elements(), 23, 3);
        INFO(v->name() << " " << label << " causal=" << causal << " params=" << params.canonical());
        const auto cpu = test::run_on_cpu(*v, pc, params, q, k, vv);
        const auto gpu = test::run_on_cuda(*v, pc, params, q, k, vv);
        CHECK(test::rel_fro(gpu, cpu) <= 1e-4);
        ++checked;
      }
    }
  }
  CHECK(checked >= 4);  // at least dense and dense_stream, causal and not
#endif
}
