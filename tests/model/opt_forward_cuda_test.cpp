// The OPT forward pass on the GPU against the CPU one: the fixture's reference logits, logits and
// losses of a synthetic checkpoint, exact variants on the device, the unscaled queries handed to the
// attention, and the refusal of a variant without a CUDA implementation (which needs no device).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "harness/core/errors.hpp"
#include "harness/core/variant.hpp"
#include "harness/io/npy.hpp"
#include "harness/model/opt_forward.hpp"
#include "harness/model/opt_forward_cuda.hpp"
#include "harness/model/opt_model.hpp"
#include "tests/device/gpu_test_support.hpp"
#include "tests/model/model_test_util.hpp"

#ifdef SEABENCH_HAVE_CUDA

using namespace sb;
using namespace sb::model;

namespace {

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(static_cast<double>(a[i]) - b[i]));
  return d;
}

std::vector<std::int32_t> some_ids(int n, int vocab) {
  std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i * 7 + 3 + i * i) % vocab);
  return ids;
}

/// A synthetic checkpoint (2 layers, 2 heads of 8, 40 tokens).
struct tiny_model {
  model_test::temp_dir dir{"fwd_cuda"};
  opt_model m;
  tiny_model() {
    const auto cfg = model_test::tiny_config();
    model_test::write_checkpoint(dir.path, cfg, model_test::tiny_weights(cfg, "model.decoder.", 7));
    m = load_opt_checkpoint(dir.path.string());
  }
};

attention_plan plan_with(const char* variant) {
  attention_plan plan;
  plan.variant = variant_registry::instance().find(variant);
  REQUIRE(plan.variant != nullptr);
  return plan;
}

/// A variant with no CUDA implementation (not registered: only handed to the forward pass).
class cpu_only_variant final : public attention_variant {
 public:
  std::string_view name() const override { return "cpu_only_probe"; }
  std::string_view description() const override { return "test: a variant without CUDA"; }
  capabilities caps() const override { return {}; }  // cuda = false
  std::size_t analytic_memory_bytes(const problem&, const param_set&) const override { return 0; }
  flop_count flops(const problem&, const param_set&) const override { return {}; }
  std::unique_ptr<attention_instance> instantiate(const problem&, const param_set&, device_kind) const override {
    throw std::logic_error("cpu_only_probe must not be instantiated by the GPU forward pass");
  }
};

}  // namespace

TEST_CASE("model gpu: a variant without CUDA is refused by name before any device work", "[model]") {
  tiny_model t;
  cpu_only_variant v;
  attention_plan plan;
  plan.variant = &v;
  try {
    opt_forward_cuda fwd(t.m, 16, plan);
    FAIL("the GPU forward pass accepted a variant without a CUDA implementation");
  } catch (const unsupported_case& e) {
    CHECK_THAT(e.what(), Catch::Contains("cpu_only_probe") && Catch::Contains("no CUDA implementation"));
  }
}

TEST_CASE("model gpu: logits of the first 512 tokens of brown/val.txt match the reference and the CPU",
          "[gpu][model]") {
  SB_REQUIRE_GPU_OR_SKIP();
  if (!model_test::fixture_present()) {
    WARN("skipped: " << model_test::fixture_dir().string() << " is not present");
    return;
  }
  const opt_model m = load_opt_checkpoint(model_test::fixture_dir().string());
  const auto ids = load_token_ids(model_test::brown_val().string(), "byte+4");
  REQUIRE(ids.size() >= 512);
  const std::span<const std::int32_t> window(ids.data(), 512);
  const auto ref = read_npy_f32(model_test::fixture_dir() / "ref_logits_val512.npy");
  opt_forward_cuda gpu(m, 512, attention_plan{});
  const auto logits = gpu.logits(window);
  REQUIRE(logits.size() == ref.size());
  const double to_ref = max_abs_diff(logits, ref);
  INFO("max |GPU logits - reference| = " << to_ref);
  CHECK(to_ref <= 2e-4);
  opt_forward cpu(m, 512, attention_plan{});
  const double to_cpu = max_abs_diff(logits, cpu.logits(window));
  INFO("max |GPU logits - CPU logits| = " << to_cpu);
  CHECK(to_cpu <= 2e-4);

  SECTION("the dense and dense_stream variants on the device give the reference logits") {
    for (const char* name : {"dense", "dense_stream"}) {
      INFO("variant " << name);
      opt_forward_cuda with_variant(m, 512, plan_with(name));
      CHECK(max_abs_diff(with_variant.logits(window), ref) <= 2e-4);
    }
  }
}

TEST_CASE("model gpu: logits and window losses of a synthetic checkpoint match the CPU forward", "[gpu][model]") {
  SB_REQUIRE_GPU_OR_SKIP();
  tiny_model t;
  const int T = 48;
  const auto ids = some_ids(T, t.m.config.vocab_size);
  opt_forward cpu(t.m, T, attention_plan{});
  opt_forward_cuda gpu(t.m, T, attention_plan{});
  CHECK(max_abs_diff(gpu.logits(ids), cpu.logits(ids)) <= 1e-4);
  const double cpu_nll = cpu.window_nll(ids);
  CHECK(std::abs(gpu.window_nll(ids) - cpu_nll) <= 1e-4 * (T - 1));

  SECTION("dense and dense_stream on the device: the CPU's loss per token within 1e-4") {
    for (const char* name : {"dense", "dense_stream"}) {
      INFO("variant " << name);
      opt_forward on_cpu(t.m, T, plan_with(name));
      opt_forward_cuda on_gpu(t.m, T, plan_with(name));
      const double per_token_cpu = on_cpu.window_nll(ids) / (T - 1);
      const double per_token_gpu = on_gpu.window_nll(ids) / (T - 1);
      CHECK(std::abs(per_token_gpu - per_token_cpu) <= 1e-4);
      CHECK(std::abs(per_token_gpu - cpu_nll / (T - 1)) <= 1e-4);  // an exact variant is exact attention
    }
  }
  SECTION("a variant on one layer only: exact attention on the others, the same loss") {
    attention_plan plan = plan_with("dense");
    plan.layers = {1};
    opt_forward_cuda on_gpu(t.m, T, plan);
    CHECK(on_gpu.uses_variant(1));
    CHECK_FALSE(on_gpu.uses_variant(0));
    CHECK(std::abs(on_gpu.window_nll(ids) - cpu_nll) <= 1e-4 * (T - 1));
  }
}

TEST_CASE("model gpu: the attention receives unscaled queries and applies 1/sqrt(d) once", "[gpu][model]") {
  SB_REQUIRE_GPU_OR_SKIP();
  tiny_model t;
  const opt_config& c = t.m.config;
  const int T = 24;
  const auto ids = some_ids(T, c.vocab_size);
  // The CPU capture is x·Wqᵀ + b (checked in opt_forward_test.cpp); the GPU must hand over the same.
  const auto cpu = capture_qkv(t.m, ids, {0, 1});
  opt_forward_cuda gpu(t.m, T, plan_with("dense"));
  std::vector<std::vector<float>> q(2), k(2), v(2);
  const std::size_t n = static_cast<std::size_t>(c.num_heads) * T * c.head_dim();
  gpu.on_attention_inputs = [&](int layer, const float* ql, const float* kl, const float* vl) {
    q[static_cast<std::size_t>(layer)].assign(ql, ql + n);
    k[static_cast<std::size_t>(layer)].assign(kl, kl + n);
    v[static_cast<std::size_t>(layer)].assign(vl, vl + n);
  };
  const auto logits = gpu.logits(ids);
  for (int l = 0; l < 2; ++l) {
    INFO("layer " << l);
    const auto i = static_cast<std::size_t>(l);
    CHECK(max_abs_diff(q[i], cpu[i].q) <= 1e-4);
    CHECK(max_abs_diff(k[i], cpu[i].k) <= 1e-4);
    CHECK(max_abs_diff(v[i], cpu[i].v) <= 1e-4);
  }
  // With the scale applied twice (or not at all) the attention, and so the logits, would differ.
  opt_forward reference(t.m, T, attention_plan{});
  CHECK(max_abs_diff(logits, reference.logits(ids)) <= 1e-4);
}

#endif  // SEABENCH_HAVE_CUDA
