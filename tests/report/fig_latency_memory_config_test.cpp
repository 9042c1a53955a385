// configs/paper/fig_latency_memory.toml: the SEA paper's long-sequence figure expands to every method
// in fp32 (TF32 on) up to 32k, and the linear-memory methods plus dense_cudnn in fp16 up to 128k.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>

#include "harness/config/sweep_plan.hpp"

namespace {

const sb::sweep_plan& fig_plan() {
  static const sb::sweep_plan plan = sb::load_sweep_plan(
      std::filesystem::path(SEABENCH_SOURCE_DIR) / "configs/paper/fig_latency_memory.toml", {});
  return plan;
}

std::set<int> lengths(sb::dtype type, const std::string& variant) {
  std::set<int> t;
  for (const auto& c : fig_plan().cases)
    if (c.variant == variant && c.prob.type == type) t.insert(c.prob.seq_len);
  return t;
}

}  // namespace

TEST_CASE("fig_latency_memory: one non-causal head of dimension 128, TF32 allowed", "[report][paper]") {
  const auto& plan = fig_plan();
  CHECK(plan.measure.allow_tf32);
  for (const auto& c : plan.cases) {
    INFO(c.variant);
    CHECK_FALSE(c.prob.causal);
    CHECK(c.prob.heads == 1);
    CHECK(c.prob.batch == 1);
    CHECK(c.prob.head_dim == 128);
  }
}

TEST_CASE("fig_latency_memory: every method in fp32 to 32k; linear-memory methods and cuDNN in fp16 to 128k",
          "[report][paper]") {
  const std::set<int> to_32k{1024, 2048, 4096, 8192, 16384, 32768};
  const std::set<int> to_128k{1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072};
  for (const char* v : {"sea", "dense", "dense_stream", "dense_flash", "cosformer", "performer", "reformer", "sinkhorn"}) {
    INFO(v);
    CHECK(lengths(sb::dtype::fp32, v) == to_32k);
  }
  for (const char* v : {"sea", "dense_cudnn", "dense_flash", "dense_stream", "cosformer", "performer", "reformer",
                        "sinkhorn"}) {
    INFO(v);
    CHECK(lengths(sb::dtype::fp16, v) == to_128k);
  }
  CHECK(lengths(sb::dtype::fp16, "dense").empty());  // T² memory: not in the long block
  CHECK(lengths(sb::dtype::fp32, "dense_cudnn").empty());  // no fp32 fused kernel
  std::map<std::string, int> n;
  for (const auto& c : fig_plan().cases) ++n[c.variant];
  CHECK(n["sea"] == 6 * 3 + 8 * 3);  // k ∈ {32, 64, 128} in both blocks
  for (const auto& c : fig_plan().cases)
    if (c.variant == "performer") CHECK(c.params.get_int("nbf") == 8);
    else if (c.variant == "sea") {
      CHECK(c.params.get_int("K") == 128);
      CHECK(c.params.get_int("nbf") == 8);
    }
}
