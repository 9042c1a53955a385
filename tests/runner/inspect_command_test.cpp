// `seabench inspect`: writes the four matrices and the heatmap PNG for a SEA case; other variants and
// unknown ids are usage errors.
#include <catch2/catch.hpp>

#include "harness/config/sweep_plan.hpp"
#include "harness/runner/sweep_runner.hpp"
#include "tests/support/test_support.hpp"

using namespace sb::test;

namespace {
const std::string inspect_config = R"(
[sweep]
seq_len = 96
k = 8
heads = 2
head_dim = 16
causal = true
dataset = { kind = "structured", preset = "mixed" }
[[variant]]
name = "sea"
estimator = "pooled"
K = 16
[[variant]]
name = "window"
)";

std::string id_of(const std::filesystem::path& config, const std::string& variant) {
  auto plan = sb::load_sweep_plan(config);
  sb::assign_devices(plan.cases, "cpu");
  for (const auto& c : plan.cases)
    if (c.variant == variant) return c.case_id();
  return {};
}
}  // namespace

TEST_CASE("inspect writes SEA's matrices and a heatmap", "[cli][inspect]") {
  temp_dir dir;
  write_text(dir / "c.toml", inspect_config);
  const auto out = dir / "inspect";
  const auto r = run_command(seabench("inspect " + (dir / "c.toml").string() + " --case " +
                                      id_of(dir / "c.toml", "sea") + " --head 1 -o " + out.string()));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const char* f : {"exact.csv", "compressed.csv", "mask.csv", "sparse.csv", "inspect.png"})
    CHECK(std::filesystem::file_size(out / f) > 0);
  // Each matrix is T rows; the compressed one has K columns; exact rows sum to 1.
  const auto exact = read_text(out / "exact.csv");
  CHECK(std::count(exact.begin(), exact.end(), '\n') == 96);
  const auto compressed = read_text(out / "compressed.csv");
  const auto first_line = compressed.substr(0, compressed.find('\n'));
  CHECK(std::count(first_line.begin(), first_line.end(), ',') == 15);
  const auto last_row = sb::csv_split(exact.substr(exact.rfind('\n', exact.size() - 2) + 1));
  double sum = 0;
  for (const auto& x : last_row) sum += std::stod(x);
  CHECK(sum == Approx(1.0).margin(1e-5));
}

TEST_CASE("inspect refuses other variants, unknown ids and bad heads", "[cli][inspect]") {
  temp_dir dir;
  write_text(dir / "c.toml", inspect_config);
  const std::string base = seabench("inspect " + (dir / "c.toml").string() + " -o " + (dir / "x").string());
  const auto not_sea = run_command(base + " --case " + id_of(dir / "c.toml", "window"));
  CHECK(not_sea.exit_code == 2);
  CHECK_THAT(not_sea.output, Catch::Contains("sea"));
  CHECK(run_command(base + " --case 0123456789abcdef").exit_code == 2);
  CHECK(run_command(base + " --case " + id_of(dir / "c.toml", "sea") + " --head 7").exit_code == 2);
}
