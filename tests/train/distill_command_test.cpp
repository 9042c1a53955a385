// `seabench distill` end to end on a small .npy teacher: outputs, thread-count independence, an
// interrupted-and-resumed run, paths relative to the config file, and config errors.
#include <catch2/catch.hpp>

#include <vector>

#include "harness/core/rng.hpp"
#include "harness/io/npy.hpp"
#include "harness/io/safetensors.hpp"
#include "tests/support/test_support.hpp"

namespace {

using namespace sb;

/// [L=2, 3, H=2, T=96, D=8] random q/k/v and a config training both layers on 32-token windows.
void write_fixture(const test::temp_dir& dir) {
  const std::vector<std::int64_t> shape = {2, 3, 2, 96, 8};
  std::vector<float> data(2 * 3 * 2 * 96 * 8);
  counter_rng rng(17, rng_stream::dataset_aux);
  for (auto& x : data) x = static_cast<float>(rng.normal() * 1.5);
  write_npy(dir.path() / "qkv.npy", shape, data, npy_element::f32);
}

std::string config_text(const test::temp_dir& dir, int threads, const std::string& out) {
  return "[distill]\nteacher = \"npy\"\nnpy = \"" + (dir.path() / "qkv.npy").string() +
         "\"\nlayers = [0, 1]\nseq_len = 32\nval_fraction = 0.34\nK = 16\nnbf = 2\nk = 4\nepochs = 3\n"
         "lr = 5e-3\nseed = 9\nthreads = " + std::to_string(threads) + "\noutput = \"" +
         (dir.path() / out).string() + "\"\n";
}

std::vector<float> all_weights(const std::filesystem::path& p) {
  const auto f = io::safetensors_file::load(p.string());
  std::vector<float> out;
  for (const auto& [name, t] : f.tensors()) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

}  // namespace

TEST_CASE("distill command: writes weights, progress and recall; threads and resume do not change the weights",
          "[train]") {
  test::temp_dir dir;
  write_fixture(dir);
  test::write_text(dir.path() / "one.toml", config_text(dir, 1, "one"));
  test::write_text(dir.path() / "two.toml", config_text(dir, 2, "two"));
  test::write_text(dir.path() / "cut.toml", config_text(dir, 2, "cut"));

  const auto one = test::run_command(test::seabench("distill " + (dir.path() / "one.toml").string()));
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  REQUIRE_THAT(one.output, Catch::Contains("val_mass_recall") && Catch::Contains("backbone frozen"));
  const auto two = test::run_command(test::seabench("distill " + (dir.path() / "two.toml").string()));
  REQUIRE(two.exit_code == 0);
  for (const char* layer : {"layer0.safetensors", "layer1.safetensors"}) {
    INFO(layer);
    REQUIRE(all_weights(dir.path() / "one" / layer) == all_weights(dir.path() / "two" / layer));
    const auto f = io::safetensors_file::load((dir.path() / "one" / layer).string());
    REQUIRE(f.metadata().at("sea.gates") == "off");
    REQUIRE(f.metadata().at("sea.steps") == "6");  // 2 training windows per layer × 3 epochs
  }
  const auto progress = test::read_csv_rows(dir.path() / "one" / "progress.csv");
  REQUIRE(progress.size() == 2 * 4);  // per layer: step 0 and one line per epoch
  const auto recall = test::read_csv_rows(dir.path() / "one" / "recall.csv");
  REQUIRE(recall.size() == 2);
  for (const auto& row : recall) {
    REQUIRE(std::stod(row.at("oracle")) >= std::stod(row.at("performer_hist")));
    REQUIRE_FALSE(row.at("gap_share").empty());
  }

  // Interrupted after 2 steps, then resumed: the same files as the uninterrupted run.
  const auto cut = test::run_command(test::seabench("distill " + (dir.path() / "cut.toml").string() +
                                                    " --stop-after 2"));
  REQUIRE(cut.exit_code == 0);
  REQUIRE_THAT(cut.output, Catch::Contains("stopped after step 2"));
  REQUIRE_FALSE(std::filesystem::exists(dir.path() / "cut" / "layer0.safetensors"));
  const auto resumed =
      test::run_command(test::seabench("distill " + (dir.path() / "cut.toml").string() + " --resume"));
  REQUIRE(resumed.exit_code == 0);
  for (const char* layer : {"layer0.safetensors", "layer1.safetensors"})
    REQUIRE(all_weights(dir.path() / "cut" / layer) == all_weights(dir.path() / "one" / layer));
}

TEST_CASE("distill command: relative paths in the config are taken from the config file's folder", "[train][cli]") {
  test::temp_dir dir, elsewhere;
  write_fixture(dir);
  std::filesystem::create_directories(dir.path() / "configs" / "paper");
  const std::string relative =
      "[distill]\nteacher = \"npy\"\nnpy = \"../../qkv.npy\"\nlayers = [0]\nseq_len = 32\nval_fraction = 0.34\n"
      "K = 16\nnbf = 2\nk = 4\nepochs = 1\nseed = 9\noutput = \"../../runs/rel\"\n";
  const auto config = dir.path() / "configs" / "paper" / "rel.toml";
  test::write_text(config, relative);

  // From an unrelated working directory: the teacher is found and the output lands beside the config's tree.
  auto r = test::run_command("cd " + elsewhere.path().string() + " && " + test::seabench("distill " + config.string()));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(std::filesystem::exists(dir.path() / "runs" / "rel" / "layer0.safetensors"));
  REQUIRE_FALSE(std::filesystem::exists(elsewhere.path() / "runs"));
  REQUIRE(std::filesystem::is_empty(elsewhere.path()));

  // The config named by a relative path from its own tree's root, and -o (a command-line path) from the
  // working directory: the same weights.
  r = test::run_command("cd " + dir.path().string() + " && " +
                        test::seabench("distill configs/paper/rel.toml -o cli-out"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(all_weights(dir.path() / "cli-out" / "layer0.safetensors") ==
          all_weights(dir.path() / "runs" / "rel" / "layer0.safetensors"));

  // The same config moved to another tree misses the teacher, although from this working directory the
  // names would reach it: they are read from the config's folder, not the working directory.
  std::filesystem::create_directories(elsewhere.path() / "a" / "b");
  test::write_text(elsewhere.path() / "a" / "b" / "rel.toml", relative);
  r = test::run_command("cd " + (dir.path() / "configs" / "paper").string() + " && " +
                        test::seabench("distill " + (elsewhere.path() / "a" / "b" / "rel.toml").string()));
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains("qkv.npy"));
}

TEST_CASE("distill command: config errors are reported before training", "[train]") {
  test::temp_dir dir;
  write_fixture(dir);
  test::write_text(dir.path() / "bad.toml", config_text(dir, 1, "out") + "learning_rate = 1\n");
  auto r = test::run_command(test::seabench("distill " + (dir.path() / "bad.toml").string()));
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.output, Catch::Contains("unknown key [distill] learning_rate"));
  std::string csr = config_text(dir, 1, "out");
  csr += "upsample = \"csr\"\n";
  test::write_text(dir.path() / "csr.toml", csr);
  r = test::run_command(test::seabench("distill " + (dir.path() / "csr.toml").string()));
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains("upsample = nearest"));
}
