// Sweep expansion: both config forms, case counts, k only for k-using variants, list-valued
// parameters and datasets, defaults, dedupe, order, and loading from a file.
#include <fstream>

#include <catch2/catch.hpp>

#include "harness/config/sweep_plan.hpp"
#include "harness/core/dataset.hpp"
#include "harness/core/errors.hpp"
#include "tests/config/config_test_support.hpp"

using namespace sb;
using sb::test::count_variant;
using sb::test::parse_config;

TEST_CASE("the [sweep] + [[variant]] form expands every axis", "[config]") {
  const auto plan = parse_config(R"(
name = "quick"
description = "two variants"
[sweep]
seq_len = [128, 256]
k = [8, 16, 32]
causal = [false, true]
dataset = "test_config_dataset"
seeds = [0, 1]
[[variant]]
name = "dense"
[[variant]]
name = "test_config_k_variant"
)");
  CHECK(plan.name == "quick");
  CHECK(plan.description == "two variants");
  CHECK(plan.config_path.empty());
  // dense ignores k: 2 seq_len × 2 causal × 2 seeds; the k variant adds × 3 k.
  CHECK(count_variant(plan, "dense") == 8);
  CHECK(count_variant(plan, "test_config_k_variant") == 24);
  CHECK(plan.cases.size() == 32);
  REQUIRE(plan.sweep_names.size() == 1);
  for (const auto& c : plan.cases) {
    CHECK(c.sweep_index == 0);
    CHECK(c.device == device_kind::cpu);
    CHECK(c.prob.k.has_value() == (c.variant == "test_config_k_variant"));
  }
}

TEST_CASE("the [[sweep]] form keeps each sweep's axes and variants apart", "[config]") {
  const auto plan = parse_config(R"(
[[sweep]]
name = "short"
seq_len = [64, 128]
dataset = "test_config_dataset"
[[sweep.variant]]
name = "dense"
[[sweep.variant]]
name = "dense_stream"

[[sweep]]
name = "long"
seq_len = 1024
dtype = ["fp16", "bf16"]
k = 4
dataset = "test_config_dataset"
[[sweep.variant]]
name = "test_config_k_variant"
)");
  REQUIRE(plan.cases.size() == 6);
  CHECK(plan.sweep_names == std::vector<std::string>{"short", "long"});
  for (int i = 0; i < 4; ++i) {
    CHECK(plan.cases[i].sweep_index == 0);
    CHECK(plan.cases[i].prob.type == dtype::fp32);
  }
  CHECK(plan.cases[4].sweep_index == 1);
  CHECK(plan.cases[4].prob.type == dtype::fp16);
  CHECK(plan.cases[5].prob.type == dtype::bf16);
  CHECK(plan.cases[5].prob.seq_len == 1024);
  CHECK(plan.cases[5].prob.k == 4);
}

TEST_CASE("axes take their defaults and cases carry the resolved parameters", "[config]") {
  const auto plan = parse_config(R"(
[sweep]
seq_len = 256
dataset = "test_config_dataset"
[[variant]]
name = "dense_stream"
)");
  REQUIRE(plan.cases.size() == 1);
  const case_spec& c = plan.cases[0];
  CHECK(c.variant == "dense_stream");
  CHECK(c.prob.batch == 1);
  CHECK(c.prob.heads == 4);
  CHECK(c.prob.head_dim == 64);
  CHECK(c.prob.type == dtype::fp32);
  CHECK_FALSE(c.prob.causal);
  CHECK(c.prob.seed == 0);
  CHECK_FALSE(c.prob.k.has_value());
  // Every schema entry present, with its default.
  CHECK(c.params.has("key_block"));
  CHECK(c.params.has("query_block"));
  CHECK(c.dataset.at("kind") == "test_config_dataset");
  CHECK(c.dataset_label == "test_config_dataset:scale=1");
  CHECK(c.sweep_index == 0);
  CHECK(plan.sweep_names == std::vector<std::string>{""});
}

TEST_CASE("the dataset axis defaults to gaussian", "[config]") {
  const std::string text = "[sweep]\nseq_len = 64\n[[variant]]\nname = \"dense\"\n";
  if (dataset_registry::instance().find("gaussian")) {
    const auto plan = parse_config(text);
    REQUIRE(plan.cases.size() == 1);
    CHECK(plan.cases[0].dataset.at("kind") == "gaussian");
  } else {
    CHECK_THROWS_WITH(parse_config(text), Catch::Contains("unknown dataset 'gaussian'"));
  }
}

TEST_CASE("list-valued variant parameters are swept as a cartesian product", "[config]") {
  const auto plan = parse_config(R"(
[sweep]
seq_len = 64
k = 8
dataset = "test_config_dataset"
[[variant]]
name = "test_config_k_variant"
probes = [1, 2, 3]
mode = ["fast", "slow"]
)");
  REQUIRE(plan.cases.size() == 6);
  // Keys in order (mode, then probes), the last varying fastest.
  CHECK(plan.cases[0].params.get_text("mode") == "fast");
  CHECK(plan.cases[0].params.get_int("probes") == 1);
  CHECK(plan.cases[1].params.get_int("probes") == 2);
  CHECK(plan.cases[3].params.get_text("mode") == "slow");
  CHECK(plan.cases[3].params.get_int("probes") == 1);
}

TEST_CASE("datasets expand their own list-valued options, in entry order", "[config]") {
  const auto plan = parse_config(R"(
[sweep]
seq_len = 64
dataset = [{ kind = "test_config_dataset", scale = [1, 2] }, "test_config_dataset"]
[[variant]]
name = "dense"
)");
  // The second entry (scale 1 by default) repeats the first point: deduplicated.
  REQUIRE(plan.cases.size() == 2);
  CHECK(plan.cases[0].dataset_label == "test_config_dataset:scale=1");
  CHECK(plan.cases[1].dataset_label == "test_config_dataset:scale=2");
  CHECK(plan.cases[1].dataset.at("scale") == 2.0);
}

TEST_CASE("expansion order is variant, dataset, seq_len, k, causal, batch, heads, head_dim, dtype, seeds",
          "[config]") {
  const auto plan = parse_config(R"(
[sweep]
seq_len = [32, 64]
k = [1, 2]
causal = [false, true]
seeds = [5, 6]
dataset = "test_config_dataset"
[[variant]]
name = "test_config_k_variant"
)");
  REQUIRE(plan.cases.size() == 16);
  CHECK(plan.cases[0].prob.seed == 5);
  CHECK(plan.cases[1].prob.seed == 6);
  CHECK(plan.cases[2].prob.causal);
  CHECK(plan.cases[4].prob.k == 2);
  CHECK(plan.cases[8].prob.seq_len == 64);
}

TEST_CASE("duplicate cases are dropped, keeping the first", "[config]") {
  const auto plan = parse_config(R"(
[[sweep]]
seq_len = [64, 64, 128]
dataset = "test_config_dataset"
[[sweep.variant]]
name = "dense"
[[sweep.variant]]
name = "dense"
[[sweep]]
seq_len = [128, 256]
dataset = "test_config_dataset"
[[sweep.variant]]
name = "dense"
)");
  REQUIRE(plan.cases.size() == 3);
  CHECK(plan.cases[0].prob.seq_len == 64);
  CHECK(plan.cases[1].prob.seq_len == 128);
  CHECK(plan.cases[1].sweep_index == 0);  // the first occurrence wins
  CHECK(plan.cases[2].prob.seq_len == 256);
  CHECK(plan.cases[2].sweep_index == 1);
}

TEST_CASE("unsupported combinations are kept for the runner to report", "[config]") {
  // test_config_k_variant does not support causal attention nor fp16; the config keeps the cases.
  const auto plan = parse_config(R"(
[sweep]
seq_len = 64
k = 4
causal = true
dtype = "fp16"
dataset = "test_config_dataset"
[[variant]]
name = "test_config_k_variant"
)");
  REQUIRE(plan.cases.size() == 1);
  CHECK(plan.cases[0].prob.causal);
}

TEST_CASE("load_sweep_plan reads a file and resolves dataset paths against its directory", "[config]") {
  const auto dir = std::filesystem::temp_directory_path() / "seabench_config_test";
  std::filesystem::create_directories(dir / "sub");
  const auto file = dir / "sub" / "paths.toml";
  std::ofstream(file) << R"(
[sweep]
seq_len = 16
dataset = { kind = "test_config_dataset", path = "../data/qkv.npy" }
[[variant]]
name = "dense"
)";
  const auto plan = load_sweep_plan(file, {"sweep.seq_len=[16, 32]"});
  CHECK(plan.config_path == file);
  REQUIRE(plan.cases.size() == 2);
  CHECK(plan.cases[0].dataset.at("path") == (dir / "data" / "qkv.npy").string());
  CHECK_THROWS_AS(load_sweep_plan(dir / "missing.toml"), config_error);
  CHECK_THROWS_WITH(load_sweep_plan(dir / "missing.toml"), Catch::Contains("missing.toml"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("cases carry the plan's measure settings", "[config]") {
  const auto plan = parse_config(R"(
[measure]
min_samples = 7
[sweep]
seq_len = 64
dataset = "test_config_dataset"
[[variant]]
name = "dense"
)");
  CHECK(plan.measure.min_samples == 7);
  REQUIRE(plan.cases.size() == 1);
  CHECK(plan.cases[0].measure.min_samples == 7);
}
