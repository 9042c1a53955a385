// seabench model-eval: config reading, the forked case runner, and the command end to end on a small
// synthetic checkpoint (dense and exact-window rows agree, columns, resume, bad inputs stop early).
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <thread>

#include "harness/core/errors.hpp"
#include "harness/io/npy.hpp"
#include "harness/model/eval_case.hpp"
#include "harness/model/eval_config.hpp"
#include "tests/model/model_test_util.hpp"
#include "tests/support/test_support.hpp"

using namespace sb;
using namespace sb::model;
using Catch::Contains;

namespace {

/// A byte-level synthetic checkpoint (vocab 260, 2 layers, 2 heads of 8, 64 positions) and a text.
struct fixture {
  test::temp_dir dir;
  fixture() {
    const auto cfg = model_test::tiny_config(260, 16, 2, 2, 32, 64);
    model_test::write_checkpoint(dir / "ckpt", cfg, model_test::tiny_weights(cfg, "model.decoder."));
    std::string text;
    for (int i = 0; i < 20; ++i) text += "the quick brown fox jumps over the lazy dog. ";
    test::write_text(dir / "text.txt", text);  // 900 bytes
  }
  std::string config(const std::string& model_extra, const std::string& rest) const {
    return "[model]\ncheckpoint = \"ckpt\"\ntext = \"text.txt\"\nseq_len = 32\n" + model_extra + "\n" + rest;
  }
  model_eval_plan parse(const std::string& text, const std::vector<std::string>& overrides = {}) const {
    return parse_model_eval_plan(text, dir.path(), overrides, "test.toml");
  }
};

const std::string two_variants = "[sweep]\nk = [4, 64]\n[[variant]]\nname = \"dense\"\n[[variant]]\nname = \"window\"\n";

}  // namespace

TEST_CASE("model-eval: a config expands to one case per variant, parameters and k", "[model]") {
  fixture f;
  const auto plan = f.parse(f.config("max_windows = 3", two_variants));
  CHECK(plan.model.seq_len == 32);
  CHECK(plan.model.max_windows == 3);
  CHECK(plan.model.tokens == "byte+4");
  CHECK(plan.checkpoint_config.num_heads == 2);
  REQUIRE(plan.sweep.cases.size() == 3);  // dense (no k) + window × 2
  for (const auto& c : plan.sweep.cases) {
    CHECK(c.prob.seq_len == 32);
    CHECK(c.prob.heads == 2);
    CHECK(c.prob.head_dim == 8);
    CHECK(c.prob.causal);
    CHECK(c.dataset.at("kind") == "model_eval");
  }
  // The model protocol is part of the identity: another max_windows is another case.
  const auto other = f.parse(f.config("max_windows = 4", two_variants));
  CHECK(other.sweep.cases[0].case_id() != plan.sweep.cases[0].case_id());
  // --set reaches the [model] table.
  CHECK(f.parse(f.config("", two_variants), {"model.max_windows=7"}).model.max_windows == 7);
}

TEST_CASE("model-eval: config errors name the key", "[model]") {
  fixture f;
  CHECK_THROWS_WITH(f.parse(two_variants), Contains("[model]"));
  CHECK_THROWS_WITH(f.parse(f.config("", "[sweep]\nseq_len = 64\nk = 4\n[[variant]]\nname = \"dense\"\n")),
                    Contains("sweep.seq_len") && Contains("[model]"));
  CHECK_THROWS_WITH(f.parse(f.config("tokens = \"words\"", two_variants)), Contains("model.tokens"));
  CHECK_THROWS_WITH(f.parse(f.config("layers = [5]", two_variants)), Contains("model.layers") && Contains("layer 5"));
  CHECK_THROWS_WITH(f.parse(f.config("colour = 1", two_variants)), Contains("colour"));
  CHECK_THROWS_WITH(f.parse(f.config("", "[[variant]]\nname = \"nope\"\n")), Contains("nope"));
  CHECK_THROWS_AS(f.parse("[model]\ncheckpoint = \"ckpt\"\ntext = \"text.txt\"\nseq_len = 65\n" + two_variants),
                  config_error);
  CHECK_THROWS_WITH(f.parse("[model]\ncheckpoint = \"absent\"\ntext = \"text.txt\"\nseq_len = 8\n" + two_variants),
                    Contains("model.checkpoint"));
  CHECK_THROWS_WITH(f.parse("[model]\ncheckpoint = \"ckpt\"\ntext = \"absent.txt\"\nseq_len = 8\n" + two_variants),
                    Contains("model.text"));
}

TEST_CASE("model-eval: a crash or a hang in a case's child becomes an error or timeout row", "[model]") {
  const auto ok = run_forked([] { return nlohmann::json{{"status", "ok"}, {"nll", 1.5}}; }, 30);
  CHECK(ok.row.at("status") == "ok");
  CHECK(ok.row.at("nll") == 1.5);
  const auto crashed = run_forked([]() -> nlohmann::json { std::raise(SIGSEGV); return {}; }, 30);
  CHECK(crashed.row.at("status") == "error");
  CHECK_THAT(crashed.row.at("error").get<std::string>(), Contains("signal 11"));
  const auto threw = run_forked([]() -> nlohmann::json { throw std::runtime_error("boom"); }, 30);
  CHECK(threw.row.at("status") == "error");
  CHECK(threw.row.at("error") == "boom");
  const auto hung = run_forked(
      []() -> nlohmann::json {
        std::this_thread::sleep_for(std::chrono::seconds(20));
        return {};
      },
      0.3);
  CHECK(hung.row.at("status") == "timeout");
  CHECK(hung.wall_s < 10);
}

TEST_CASE("model-eval: end to end, exact window equals dense, resume skips, bad inputs write nothing", "[model]") {
  fixture f;
  test::write_text(f.dir / "cfg.toml", f.config("max_windows = 5", two_variants));
  const auto csv = f.dir / "out.csv";
  const auto r = test::run_command(test::seabench("model-eval -q " + (f.dir / "cfg.toml").string() + " -o " + csv.string()));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto rows = test::read_csv_rows(csv);
  REQUIRE(rows.size() == 3);
  std::map<std::string, test::csv_row> by;
  for (const auto& row : rows) by[row.at("variant") + row.at("k")] = row;
  for (const auto& [name, row] : by) {
    INFO(name);
    CHECK(row.at("status") == "ok");
    CHECK(row.at("windows") == "5");
    CHECK(row.at("tokens_evaluated") == "155");
    CHECK(row.at("model") == "ckpt");
    CHECK(row.at("model_layers") == "all");
    CHECK(row.at("samples") == "5");
    CHECK(std::stod(row.at("peak_mem_bytes")) > 0);
    CHECK(std::stod(row.at("ppl")) == Approx(std::exp(std::stod(row.at("nll")))).epsilon(1e-9));
  }
  // window with k = 64 ≥ T = 32 is exact attention; k = 4 is not.
  CHECK(std::stod(by.at("window64").at("nll")) == Approx(std::stod(by.at("dense").at("nll"))).epsilon(1e-5));
  CHECK(std::abs(std::stod(by.at("window4").at("nll")) - std::stod(by.at("dense").at("nll"))) > 1e-3);

  const auto again = test::run_command(test::seabench("model-eval -q " + (f.dir / "cfg.toml").string() + " -o " + csv.string()));
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.output, Contains("--resume"));
  const auto resumed =
      test::run_command(test::seabench("model-eval -q " + (f.dir / "cfg.toml").string() + " -o " + csv.string() + " --resume"));
  CHECK(resumed.exit_code == 0);
  CHECK_THAT(resumed.output, Contains("0 written, 3 already"));
  CHECK(test::read_csv_rows(csv).size() == 3);

  SECTION("token ids outside the vocabulary stop the command before any row") {
    {
      std::ofstream out(f.dir / "ids.npy", std::ios::binary);
      out << make_npy_header("<i4", false, {40});
      std::vector<std::int32_t> ids(40, 7);
      ids[33] = 999;
      out.write(reinterpret_cast<const char*>(ids.data()), 160);
    }
    test::write_text(f.dir / "bad.toml",
                     "[model]\ncheckpoint = \"ckpt\"\ntext = \"ids.npy\"\ntokens = \"npy\"\nseq_len = 20\n" + two_variants);
    const auto bad = test::run_command(test::seabench("model-eval -q " + (f.dir / "bad.toml").string() + " -o " +
                                                      (f.dir / "bad.csv").string()));
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.output, Contains("token id 999 at position 13"));
    CHECK_FALSE(std::filesystem::exists(f.dir / "bad.csv"));
  }
  SECTION("a text shorter than one window stops the command") {
    test::write_text(f.dir / "short.txt", "too short");
    test::write_text(f.dir / "short.toml",
                     "[model]\ncheckpoint = \"ckpt\"\ntext = \"short.txt\"\nseq_len = 32\n" + two_variants);
    const auto bad = test::run_command(test::seabench("model-eval -q " + (f.dir / "short.toml").string() + " -o " +
                                                      (f.dir / "short.csv").string()));
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.output, Contains("9 tokens, fewer than one window of 32"));
  }
}
