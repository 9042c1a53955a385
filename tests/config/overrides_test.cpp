// `--set key=value` overrides: value parsing, path walking through tables and arrays of tables
// (by index, by variant or sweep name, into every element), and malformed or unmatched overrides.
#include <catch2/catch.hpp>

#include "harness/config/sweep_plan.hpp"
#include "harness/core/errors.hpp"
#include "tests/config/config_test_support.hpp"

using namespace sb;
using Catch::Contains;
using sb::test::count_variant;
using sb::test::parse_config;

namespace {

const char* single_form = R"(
[sweep]
seq_len = 64
dataset = "test_config_dataset"
[[variant]]
name = "dense"
[[variant]]
name = "dense_stream"
)";

const char* array_form = R"(
[[sweep]]
name = "short"
seq_len = 64
dataset = "test_config_dataset"
[[sweep.variant]]
name = "dense"
[[sweep]]
name = "long"
seq_len = 128
dataset = "test_config_dataset"
[[sweep.variant]]
name = "dense_stream"
)";

}  // namespace

TEST_CASE("overrides set axes with TOML values or plain strings", "[config]") {
  const auto plan = parse_config(single_form, {"sweep.seq_len=[128, 256]", "sweep.dtype=fp16", "name=\"renamed\"",
                                               "sweep.causal = true", "description=plain words"});
  CHECK(plan.cases.size() == 4);
  CHECK(plan.name == "renamed");
  CHECK(plan.description == "plain words");
  for (const auto& c : plan.cases) {
    CHECK(c.prob.type == dtype::fp16);
    CHECK(c.prob.causal);
  }
  CHECK(plan.cases[1].prob.seq_len == 256);
}

TEST_CASE("overrides create [measure] and set inline-table datasets", "[config]") {
  const auto plan = parse_config(single_form, {"measure.min_samples=9",
                                               "sweep.dataset={ kind = \"test_config_dataset\", scale = [2, 3] }"});
  CHECK(plan.measure.min_samples == 9);
  CHECK(plan.cases.size() == 4);
  CHECK(plan.cases[0].dataset_label == "test_config_dataset:scale=2");
}

TEST_CASE("overrides select variants by name or index, or apply to all", "[config]") {
  auto plan = parse_config(single_form, {"variant.dense_stream.key_block=[64,128]"});
  CHECK(count_variant(plan, "dense") == 1);
  REQUIRE(count_variant(plan, "dense_stream") == 2);
  CHECK(plan.cases[1].params.get_int("key_block") == 64);
  CHECK(plan.cases[2].params.get_int("key_block") == 128);

  plan = parse_config(single_form, {"variant.1.query_block=32"});
  CHECK(plan.cases[1].params.get_int("query_block") == 32);

  // A key that is not an element's name applies to every element: dense has no key_block.
  CHECK_THROWS_WITH(parse_config(single_form, {"variant.key_block=64"}),
                    Contains("variant[0]") && Contains("unknown parameter 'key_block'"));
}

TEST_CASE("overrides on [[sweep]] apply to each sweep unless one is selected", "[config]") {
  auto plan = parse_config(array_form, {"sweep.seq_len=[512]"});
  REQUIRE(plan.cases.size() == 2);
  CHECK(plan.cases[0].prob.seq_len == 512);
  CHECK(plan.cases[1].prob.seq_len == 512);

  plan = parse_config(array_form, {"sweep.long.heads=8", "sweep.0.batch=2"});
  CHECK(plan.cases[0].prob.heads == 4);
  CHECK(plan.cases[0].prob.batch == 2);
  CHECK(plan.cases[1].prob.heads == 8);
  CHECK(plan.cases[1].prob.batch == 1);

  plan = parse_config(array_form, {"sweep.variant.dense_stream.key_block=[16, 32]"});
  CHECK(plan.cases.size() == 3);
}

TEST_CASE("malformed or unmatched overrides are config errors naming them", "[config]") {
  CHECK_THROWS_WITH(parse_config(single_form, {"sweep.seq_len"}),
                    Contains("--set 'sweep.seq_len': expected key=value"));
  CHECK_THROWS_WITH(parse_config(single_form, {"=5"}), Contains("--set '=5': empty key"));
  CHECK_THROWS_WITH(parse_config(single_form, {"sweep..k=5"}), Contains("empty component"));
  CHECK_THROWS_WITH(parse_config(single_form, {"variant.7.key_block=64"}),
                    Contains("--set 'variant.7.key_block=64': the key matches nothing"));
  CHECK_THROWS_WITH(parse_config(single_form, {"foo.bar=1"}),
                    Contains("--set 'foo.bar=1'") && Contains("no table 'foo'"));
  CHECK_THROWS_WITH(parse_config(single_form, {"sweep.seq_len.x=1"}),
                    Contains("'sweep.seq_len' is not a table (it holds integer 64)"));
  // Applied to every [[sweep]], the path fits none of them: the first reason is the error.
  CHECK_THROWS_WITH(parse_config(array_form, {"sweep.dataset.scale=2"}),
                    Contains("'sweep[0].dataset' is not a table (it holds string \"test_config_dataset\")"));
  CHECK_THROWS_WITH(parse_config(single_form, {"variant.dense=1"}), Contains("selects tables"));
  // An override's value is validated like the file's own.
  CHECK_THROWS_WITH(parse_config(single_form, {"sweep.seq_len=0"}), Contains("sweep.seq_len: value 0 out of range"));
  CHECK_THROWS_WITH(parse_config(single_form, {"sweep.seqlen=64"}), Contains("unknown key 'sweep.seqlen'"));
}
