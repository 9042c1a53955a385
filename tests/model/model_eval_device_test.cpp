// seabench model-eval --device: bad values and cuda without CUDA stop early, cpu rows say cpu, and
// on a GPU the forked children run the forward on the device with the CPU's loss.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <map>

#include "tests/device/gpu_test_support.hpp"
#include "tests/model/model_test_util.hpp"
#include "tests/support/test_support.hpp"

using namespace sb;
using Catch::Contains;

namespace {

/// A byte-level synthetic checkpoint (vocab 260, 2 layers, 2 heads of 8), a text and a config with
/// dense and window (k = 64 ≥ T: exact) over 3 windows of 32.
struct device_fixture {
  test::temp_dir dir;
  std::filesystem::path config;
  device_fixture() {
    const auto cfg = model_test::tiny_config(260, 16, 2, 2, 32, 64);
    model_test::write_checkpoint(dir / "ckpt", cfg, model_test::tiny_weights(cfg, "model.decoder.", 3));
    std::string text;
    for (int i = 0; i < 10; ++i) text += "the quick brown fox jumps over the lazy dog. ";
    test::write_text(dir / "text.txt", text);
    config = dir / "cfg.toml";
    test::write_text(config, "[model]\ncheckpoint = \"ckpt\"\ntext = \"text.txt\"\nseq_len = 32\nmax_windows = 3\n"
                             "[sweep]\nk = [64]\n[[variant]]\nname = \"dense\"\n[[variant]]\nname = \"window\"\n");
  }
  test::command_result run(const std::string& device, const std::filesystem::path& csv) const {
    return test::run_command(test::seabench("model-eval -q " + config.string() + " -o " + csv.string() +
                                            " --device " + device));
  }
};

std::map<std::string, test::csv_row> by_variant(const std::filesystem::path& csv) {
  std::map<std::string, test::csv_row> out;
  for (const auto& row : test::read_csv_rows(csv)) out[row.at("variant")] = row;
  return out;
}

}  // namespace

TEST_CASE("model-eval --device: an unknown device stops before any row", "[model]") {
  device_fixture f;
  const auto csv = f.dir / "bad.csv";
  const auto r = f.run("tpu", csv);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("'tpu' is not a device"));
  CHECK_FALSE(std::filesystem::exists(csv));
}

TEST_CASE("model-eval --device cpu: every row ran on the CPU", "[model]") {
  device_fixture f;
  const auto csv = f.dir / "cpu.csv";
  const auto r = f.run("cpu", csv);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto rows = by_variant(csv);
  REQUIRE(rows.size() == 2);
  for (const auto& [name, row] : rows) {
    INFO(name);
    CHECK(row.at("status") == "ok");
    CHECK(row.at("device") == "cpu");
  }
}

TEST_CASE("model-eval --device cuda without a usable GPU: a clear error, never a CPU row", "[model]") {
  if (test::gpu_unavailable_reason().empty()) return;  // a GPU is here: the [gpu] test below covers cuda
  device_fixture f;
  const auto csv = f.dir / "cuda.csv";
  const auto r = f.run("cuda", csv);
  INFO(r.output);
#ifdef SEABENCH_HAVE_CUDA
  // The forking parent makes no CUDA call, so each case's child finds there is no device.
  REQUIRE(r.exit_code == 0);
  const auto rows = by_variant(csv);
  REQUIRE(rows.size() == 2);
  for (const auto& [name, row] : rows) {
    INFO(name);
    CHECK(row.at("status") == "error");
    CHECK_THAT(row.at("error"), Contains("no CUDA device is visible"));
    CHECK(row.at("device") == "cuda");
  }
#else
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("built without CUDA"));
  CHECK_FALSE(std::filesystem::exists(csv));
#endif
}

TEST_CASE("model-eval --device cuda: forked children run the GPU forward with the CPU's loss", "[gpu][model]") {
  SB_REQUIRE_GPU_OR_SKIP();
  device_fixture f;
  const auto cpu_csv = f.dir / "cpu.csv", gpu_csv = f.dir / "gpu.csv";
  const auto on_cpu = f.run("cpu", cpu_csv);
  const auto on_gpu = f.run("cuda", gpu_csv);
  INFO(on_cpu.output << on_gpu.output);
  REQUIRE(on_cpu.exit_code == 0);
  REQUIRE(on_gpu.exit_code == 0);
  const auto cpu = by_variant(cpu_csv), gpu = by_variant(gpu_csv);
  REQUIRE(gpu.size() == 2);
  for (const auto& [name, row] : gpu) {
    INFO(name << ": " << row.at("error"));
    REQUIRE(row.at("status") == "ok");
    CHECK(row.at("device") == "cuda");
    CHECK(row.at("tokens_evaluated") == "93");
    CHECK(std::abs(std::stod(row.at("nll")) - std::stod(cpu.at(name).at("nll"))) <= 1e-4);
    CHECK(std::stod(row.at("peak_mem_bytes")) > 0);
  }
}
