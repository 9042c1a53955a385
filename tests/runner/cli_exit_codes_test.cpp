// The CLI contract: exit 2 with a message naming the problem for bad configs and bad usage, before
// anything runs; existing results are never clobbered without --overwrite.
#include <catch2/catch.hpp>

#include "tests/support/test_support.hpp"

using namespace sb::test;

namespace {
const std::string good_config = R"(
[sweep]
seq_len = [64]
heads = 2
head_dim = 16
[[variant]]
name = "dense"
[measure]
warmup_calls = 1
warmup_min_s = 0.0
min_samples = 2
min_time_s = 0.0
max_time_s = 0.05
)";
}  // namespace

TEST_CASE("bad configs exit 2 with a message naming the problem", "[cli]") {
  temp_dir dir;
  struct bad_case {
    const char* what;
    std::string toml;
    const char* expected;
  };
  const std::vector<bad_case> cases = {
      {"malformed TOML", "[sweep\nseq_len = [64]\n", "quick.toml"},
      {"unknown variant", "[sweep]\nseq_len = [64]\n[[variant]]\nname = \"no_such_variant\"\n", "no_such_variant"},
      {"unknown key", "[sweep]\nseq_len = [64]\nseqlen = 3\n[[variant]]\nname = \"dense\"\n", "seqlen"},
      {"out-of-range value", "[sweep]\nseq_len = [0]\n[[variant]]\nname = \"dense\"\n", "seq_len"},
      {"bad parameter", "[sweep]\nseq_len = [64]\n[[variant]]\nname = \"dense_stream\"\nkey_block = -4\n",
       "key_block"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    write_text(dir / "quick.toml", c.toml);
    const auto out = dir / "out.csv";
    const auto r = run_command(seabench("run " + (dir / "quick.toml").string() + " -o " + out.string()));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(c.expected));
    CHECK_FALSE(std::filesystem::exists(out));  // nothing ran
    CHECK(run_command(seabench("validate " + (dir / "quick.toml").string())).exit_code == 2);
  }
}

TEST_CASE("bad usage exits 2", "[cli]") {
  temp_dir dir;
  write_text(dir / "c.toml", good_config);
  CHECK(run_command(seabench("")).exit_code == 2);
  CHECK(run_command(seabench("frobnicate")).exit_code == 2);
  CHECK(run_command(seabench("run " + (dir / "missing.toml").string())).exit_code == 2);
  const auto r = run_command(seabench("run " + (dir / "c.toml").string() + " --device tpu -o " +
                                      (dir / "o.csv").string()));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("tpu"));
  CHECK(run_command(seabench("run " + (dir / "c.toml").string() + " --resume --overwrite")).exit_code == 2);
  CHECK(run_command(seabench("run --help")).exit_code == 0);
  CHECK(run_command(seabench("validate " + (dir / "c.toml").string() + " --set sweep.nonsense=1")).exit_code == 2);
}

TEST_CASE("an existing results file is refused without --resume or --overwrite, and --resume keeps it intact",
          "[cli]") {
  temp_dir dir;
  write_text(dir / "c.toml", good_config);
  const auto out = dir / "o.csv";
  const std::string run = seabench("run " + (dir / "c.toml").string() + " -q -o " + out.string());
  REQUIRE(run_command(run).exit_code == 0);
  const std::string first = read_text(out);
  REQUIRE(read_csv_rows(out).size() == 1);

  const auto refused = run_command(run);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.output, Catch::Contains("--resume"));
  CHECK(read_text(out) == first);

  // Resume with one more case: the old bytes stay a prefix of the file, the old case is not rerun.
  const auto resumed = run_command(run + " --resume --set sweep.seq_len=[64,32]");
  CHECK(resumed.exit_code == 0);
  const std::string after = read_text(out);
  CHECK(after.substr(0, first.size()) == first);
  CHECK(read_csv_rows(out).size() == 2);

  CHECK(run_command(run + " --overwrite").exit_code == 0);
  CHECK(read_csv_rows(out).size() == 1);
}

TEST_CASE("validate prints every expanded case with its id", "[cli]") {
  temp_dir dir;
  write_text(dir / "c.toml", good_config);
  const auto r = run_command(seabench("validate " + (dir / "c.toml").string() + " --set sweep.seq_len=[16,32,48]"));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("3 cases"));
}

TEST_CASE("list shows variants with parameters and datasets", "[cli]") {
  const auto r = run_command(seabench("list"));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("dense_stream") && Catch::Contains("key_block") &&
                           Catch::Contains("gaussian"));
}
