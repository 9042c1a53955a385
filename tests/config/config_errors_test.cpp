// Config errors: every problem is a config_error naming the file, the key path and what is allowed.
#include <catch2/catch.hpp>

#include "harness/config/sweep_plan.hpp"
#include "harness/core/errors.hpp"
#include "tests/config/config_test_support.hpp"

using namespace sb;
using Catch::Contains;
using sb::test::parse_config;

namespace {

/// A valid [sweep] body (without [sweep] header) plus the dense variant, with `extra` added to the sweep.
std::string with_sweep(const std::string& extra) {
  return "[sweep]\nseq_len = 64\ndataset = \"test_config_dataset\"\n" + extra + "\n[[variant]]\nname = \"dense\"\n";
}

}  // namespace

TEST_CASE("TOML syntax errors give the line and column", "[config]") {
  CHECK_THROWS_AS(parse_config("[sweep]\nseq_len = [1, 2\n"), config_error);
  CHECK_THROWS_WITH(parse_config("name = \"x\"\n[sweep\n"), Contains("quick.toml:2:") && Contains("syntax"));
  CHECK_THROWS_WITH(parse_config("[sweep]\nseq_len = 1\nseq_len = 2\n"), Contains("quick.toml:3:"));
  CHECK_THROWS_WITH(parse_config("name = 1979-05-27\n"), Contains("quick.toml:1:") && Contains("dates"));
}

TEST_CASE("unknown keys are rejected with the allowed keys listed", "[config]") {
  CHECK_THROWS_WITH(parse_config(with_sweep("seqlen = 4")),
                    Contains("quick.toml: unknown key 'sweep.seqlen' (allowed: batch, causal, dataset,"));
  CHECK_THROWS_WITH(parse_config("titel = \"x\"\n" + with_sweep("")),
                    Contains("unknown key 'titel'") && Contains("description"));
  CHECK_THROWS_WITH(parse_config("[measure]\nwarmup = 1\n" + with_sweep("")),
                    Contains("unknown key 'measure.warmup'") && Contains("warmup_calls"));
  CHECK_THROWS_WITH(parse_config(R"(
[[sweep]]
seq_len = 64
dataset = "test_config_dataset"
heds = 2
[[sweep.variant]]
name = "dense"
)"),
                    Contains("unknown key 'sweep[0].heds'"));
}

TEST_CASE("unknown variants and parameters are rejected", "[config]") {
  const std::string axes = "[sweep]\nseq_len = 64\ndataset = \"test_config_dataset\"\n";
  CHECK_THROWS_WITH(parse_config(axes + "[[variant]]\nname = \"dense\"\n[[variant]]\nname = \"dense\"\n"
                                        "[[variant]]\nname = \"foo\"\n"),
                    Contains("quick.toml: variant[2]: unknown variant 'foo' (registered: ") &&
                        Contains("dense, ") && Contains("dense_stream, "));
  CHECK_THROWS_WITH(parse_config(axes + "[[variant]]\nkey_block = 1\n"),
                    Contains("variant[0]: missing key 'name'"));
  CHECK_THROWS_WITH(parse_config(axes + "[[variant]]\nname = \"dense_stream\"\nkey_blok = 64\n"),
                    Contains("variant[0]") && Contains("unknown parameter 'key_blok'") && Contains("key_block"));
  CHECK_THROWS_WITH(parse_config(axes + "[[variant]]\nname = \"dense_stream\"\nkey_block = [64, 0]\n"),
                    Contains("variant[0]") && Contains("'key_block'") && Contains("out of range"));
  CHECK_THROWS_WITH(parse_config(axes + "[[variant]]\nname = \"dense_stream\"\nkey_block = []\n"),
                    Contains("variant[0].key_block: empty list"));
  CHECK_THROWS_WITH(parse_config(axes + "[[variant]]\nname = \"dense_stream\"\nkey_block = { a = 1 }\n"),
                    Contains("variant[0].key_block: expected a number, boolean or string"));
}

TEST_CASE("axis values are checked for type and range", "[config]") {
  CHECK_THROWS_WITH(parse_config("[sweep]\nseq_len = 0\n[[variant]]\nname = \"dense\"\n"),
                    Contains("quick.toml: sweep.seq_len: value 0 out of range (allowed: 1 .. 16777216)"));
  CHECK_THROWS_WITH(parse_config("[sweep]\nseq_len = [64, 16777217]\n[[variant]]\nname = \"dense\"\n"),
                    Contains("sweep.seq_len: value 16777217 out of range"));
  CHECK_THROWS_WITH(parse_config("[sweep]\nseq_len = \"long\"\n[[variant]]\nname = \"dense\"\n"),
                    Contains("sweep.seq_len: expected an integer"));
  CHECK_THROWS_WITH(parse_config(with_sweep("k = 0")), Contains("sweep.k: value 0 out of range"));
  CHECK_THROWS_WITH(parse_config(with_sweep("batch = 0")), Contains("sweep.batch: value 0 out of range"));
  CHECK_THROWS_WITH(parse_config(with_sweep("heads = -1")), Contains("sweep.heads: value -1 out of range"));
  CHECK_THROWS_WITH(parse_config(with_sweep("head_dim = 2048")),
                    Contains("sweep.head_dim: value 2048 out of range (allowed: 1 .. 1024)"));
  CHECK_THROWS_WITH(parse_config(with_sweep("dtype = \"fp64\"")),
                    Contains("sweep.dtype: unknown dtype \"fp64\" (allowed: fp32, fp16, bf16)"));
  CHECK_THROWS_WITH(parse_config(with_sweep("causal = \"yes\"")), Contains("sweep.causal: expected true or false"));
  CHECK_THROWS_WITH(parse_config(with_sweep("seeds = [-1]")), Contains("sweep.seeds: value -1 out of range"));
  CHECK_THROWS_WITH(parse_config(with_sweep("seeds = 1.5")), Contains("sweep.seeds: expected an integer"));
  CHECK_THROWS_WITH(parse_config(with_sweep("name = 3")), Contains("sweep.name: expected a string"));
  CHECK_THROWS_WITH(parse_config("name = 3\n" + with_sweep("")), Contains("quick.toml: name: expected a string"));
}

TEST_CASE("empty axes and empty sweeps are rejected", "[config]") {
  CHECK_THROWS_WITH(parse_config(with_sweep("seeds = []")), Contains("sweep.seeds: empty list"));
  CHECK_THROWS_WITH(parse_config("[sweep]\nseq_len = []\n[[variant]]\nname = \"dense\"\n"),
                    Contains("sweep.seq_len: empty list"));
  CHECK_THROWS_WITH(parse_config("[sweep]\nseq_len = 64\nvariant = []\n"), Contains("sweep.variant"));
  CHECK_THROWS_WITH(parse_config("variant = []\n[sweep]\nseq_len = 64\ndataset = \"test_config_dataset\"\n"),
                    Contains("variant: no variants listed") && Contains("zero cases"));
  CHECK_THROWS_WITH(parse_config("sweep = []\n"), Contains("sweep: empty list of sweeps"));
  CHECK_THROWS_WITH(parse_config("[sweep]\n[[variant]]\nname = \"dense\"\n"),
                    Contains("sweep: missing required key 'seq_len'"));
}

TEST_CASE("the two forms cannot be mixed and need a variant list", "[config]") {
  CHECK_THROWS_WITH(parse_config("name = \"x\"\n"), Contains("missing the [sweep] table"));
  CHECK_THROWS_WITH(parse_config("[sweep]\nseq_len = 64\n"), Contains("missing the variant list [[variant]]"));
  CHECK_THROWS_WITH(parse_config("[[sweep]]\nseq_len = 64\n"),
                    Contains("sweep[0]: missing the variant list [[sweep.variant]]"));
  CHECK_THROWS_WITH(parse_config("[[variant]]\nname = \"dense\"\n[[sweep]]\nseq_len = 64\n"
                                 "[[sweep.variant]]\nname = \"dense\"\n"),
                    Contains("quick.toml: variant: [[sweep]] with top-level [[variant]]"));
  CHECK_THROWS_WITH(parse_config("[sweep]\nseq_len = 64\n[[sweep.variant]]\nname = \"dense\"\n"
                                 "[[variant]]\nname = \"dense\"\n"),
                    Contains("sweep.variant: [sweep] with [[sweep.variant]]"));
  CHECK_THROWS_WITH(parse_config("sweep = 3\n"), Contains("sweep: expected a table"));
}

TEST_CASE("a k-using variant needs a k axis", "[config]") {
  CHECK_THROWS_WITH(parse_config("[sweep]\nseq_len = 64\ndataset = \"test_config_dataset\"\n"
                                 "[[variant]]\nname = \"dense\"\n[[variant]]\nname = \"test_config_k_variant\"\n"),
                    Contains("variant[1]: variant 'test_config_k_variant' uses k (keys_per_query), but the sweep "
                             "has no 'sweep.k'"));
}

TEST_CASE("dataset entries are validated by the registry and the dataset", "[config]") {
  const std::string head = "[sweep]\nseq_len = 64\n";
  const std::string tail = "\n[[variant]]\nname = \"dense\"\n";
  CHECK_THROWS_WITH(parse_config(head + "dataset = \"nope\"" + tail),
                    Contains("quick.toml: sweep.dataset: unknown dataset 'nope' (registered: ") &&
                        Contains("test_config_dataset"));
  CHECK_THROWS_WITH(parse_config(head + "dataset = { scale = 2 }" + tail),
                    Contains("sweep.dataset: a dataset table needs a 'kind'"));
  CHECK_THROWS_WITH(parse_config(head + "dataset = { kind = 3 }" + tail),
                    Contains("sweep.dataset.kind: expected a string"));
  CHECK_THROWS_WITH(parse_config(head + "dataset = 3" + tail), Contains("sweep.dataset: expected a dataset name"));
  CHECK_THROWS_WITH(parse_config(head + "dataset = []" + tail), Contains("sweep.dataset: empty list"));
  // The dataset's own message, prefixed with the file and the key path of the entry.
  CHECK_THROWS_WITH(parse_config(head + "dataset = [\"test_config_dataset\", { kind = \"test_config_dataset\", "
                                        "colour = 1 }]" + tail),
                    Contains("quick.toml: sweep.dataset[1]: unknown option 'colour'"));
  // check() refusing a problem is a config error too, before anything runs.
  CHECK_THROWS_WITH(parse_config("[sweep]\nseq_len = [64, 128]\n"
                                 "dataset = { kind = \"test_config_dataset\", max_seq_len = 100 }" + tail),
                    Contains("sweep.dataset: dataset 'test_config_dataset:scale=1' cannot serve") &&
                        Contains("seq_len 128 is above max_seq_len 100"));
}
