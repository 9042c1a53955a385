// The paper's cost-point configs (configs/paper/) expand to exactly the methods and settings that
// docs/reproducing-the-paper.md lists, before anything runs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>

#include "harness/config/sweep_plan.hpp"

namespace {

std::map<std::string, int> count_by_variant(const sb::sweep_plan& plan) {
  std::map<std::string, int> n;
  for (const auto& c : plan.cases) ++n[c.variant];
  return n;
}

std::set<int> k_values(const sb::sweep_plan& plan, const std::string& variant) {
  std::set<int> ks;
  for (const auto& c : plan.cases)
    if (c.variant == variant && c.prob.k) ks.insert(*c.prob.k);
  return ks;
}

std::filesystem::path config(const std::string& name) {
  return std::filesystem::path(SEABENCH_SOURCE_DIR) / "configs/paper" / name;
}

}  // namespace

TEST_CASE("opt_cost_points: one causal OPT-125m layer, SEA k x K, Performer nbf, Reformer n_hashes, dense",
          "[report][paper]") {
  const auto plan = sb::load_sweep_plan(config("opt_cost_points.toml"), {});
  CHECK(count_by_variant(plan) == std::map<std::string, int>{{"dense", 1}, {"performer", 4}, {"reformer", 4}, {"sea", 24}});
  for (const auto& c : plan.cases) {
    INFO(c.variant);
    CHECK(c.prob.causal);
    CHECK(c.prob.heads == 12);
    CHECK(c.prob.head_dim == 64);
    CHECK(c.prob.seq_len == 2048);
    CHECK(c.prob.batch == 1);
  }
  CHECK(k_values(plan, "sea") == std::set<int>{32, 64, 128});
  CHECK(k_values(plan, "reformer") == std::set<int>{64});
}

TEST_CASE("glue_cost_points: one BERT-base layer at T=256, batch 96, SEA k x K and the baselines at bucket k",
          "[report][paper]") {
  const auto plan = sb::load_sweep_plan(config("glue_cost_points.toml"), {});
  CHECK(count_by_variant(plan) == std::map<std::string, int>{{"cosformer", 1}, {"dense", 1}, {"performer", 4},
                                                             {"reformer", 3}, {"sea", 18}, {"sinkhorn", 3}});
  for (const auto& c : plan.cases) {
    INFO(c.variant);
    CHECK_FALSE(c.prob.causal);
    CHECK(c.prob.heads == 12);
    CHECK(c.prob.seq_len == 256);
    CHECK(c.prob.batch == 96);
  }
  CHECK(k_values(plan, "sea") == std::set<int>{7, 13, 25});
  CHECK(k_values(plan, "reformer") == std::set<int>{7, 13, 25});
  CHECK(k_values(plan, "sinkhorn") == std::set<int>{7, 13, 25});
}
