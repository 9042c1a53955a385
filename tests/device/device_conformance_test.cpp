// GPU conformance: every registered variant with a CUDA implementation computes on the device what it
// computes on the CPU (fp32, relative Frobenius difference ≤ 1e-4), under its default parameters and
// under its exact setting, causal and not as it supports. Randomised variants draw their random parts
// from the seed on both devices, so they are held to the same bound. A GPU-only variant (caps().cpu
// false) is compared with its caps().reference_variant on the CPU instead, in its first dtype: for a
// half type the CPU runs on the inputs rounded to it, and the bound is that dtype's tolerance against
// the fp64 reference (fp16 5e-3, bf16 2e-2; baselines.md §14).
#include "tests/device/gpu_test_support.hpp"

#include <algorithm>

using namespace sb;

TEST_CASE("variants with CUDA give the CPU's output on the device", "[gpu][conformance]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  cuda::context::instance().set_allow_tf32(false);
  int checked = 0;
  for (const attention_variant* v : variant_registry::instance().all()) {
    const capabilities caps = v->caps();
    if (!caps.cuda || v->name().starts_with("test_")) continue;
    const attention_variant* cpu_v = v;
    if (!caps.cpu) {
      INFO(v->name() << " is GPU-only; its reference_variant is '" << caps.reference_variant << "'");
      cpu_v = variant_registry::instance().find(caps.reference_variant);
      REQUIRE(cpu_v);
      REQUIRE(cpu_v->caps().cpu);
    }
    const bool has_fp32 = std::find(caps.dtypes.begin(), caps.dtypes.end(), dtype::fp32) != caps.dtypes.end();
    const dtype type = has_fp32 ? dtype::fp32 : caps.dtypes.front();
    const double tolerance = type == dtype::fp32 ? 1e-4 : type == dtype::fp16 ? 5e-3 : 2e-2;
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
      p.type = type;
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
        INFO(v->name() << " " << label << " causal=" << causal << " dtype=" << to_string(type) << " params=" << params.canonical());
        problem p_cpu = pc;  // the CPU computes fp32 on what the device saw
        p_cpu.type = dtype::fp32;
        const auto cpu_params = cpu_v == v ? params : cpu_v->parameters().resolve(std::string(cpu_v->name()), {});
        const auto cpu = test::run_on_cpu(*cpu_v, p_cpu, cpu_params, cuda::round_through(type, q),
                                          cuda::round_through(type, k), cuda::round_through(type, vv));
        const auto gpu = test::run_on_cuda(*v, pc, params, q, k, vv);
        CHECK(test::rel_fro(gpu, cpu) <= tolerance);
        ++checked;
      }
    }
  }
  CHECK(checked >= 4);  // at least dense and dense_stream, causal and not
#endif
}
