// Memory measurement is trustworthy: for dense at T = 4096 the tracked peak matches the analytic
// model (10%) and the worker's RSS growth (15%); dense's peak grows as T² and dense_stream's as T.
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/support/test_support.hpp"

using namespace sb::test;

namespace {

const std::string memory_config = R"(
[sweep]
seq_len = [1024, 2048, 4096, 8192]
heads = 4
head_dim = 64
[[variant]]
name = "dense"
[[variant]]
name = "dense_stream"
[measure]
warmup_calls = 1
warmup_min_s = 0.0
min_samples = 1
min_time_s = 0.0
max_time_s = 0.01
ref_rows_per_head = 32
)";

/// Least-squares slope of log(y) against log(x).
double log_log_slope(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += std::log(x[i]);
    my += std::log(y[i]);
  }
  mx /= x.size();
  my /= y.size();
  double num = 0, den = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    num += (std::log(x[i]) - mx) * (std::log(y[i]) - my);
    den += (std::log(x[i]) - mx) * (std::log(x[i]) - mx);
  }
  return num / den;
}

}  // namespace

TEST_CASE("tracked peak memory matches the analytic model and RSS, and scales with complexity", "[runner][memory]") {
  temp_dir dir;
  write_text(dir / "m.toml", memory_config);
  const auto out = dir / "m.csv";
  const auto r = run_command(seabench("run " + (dir / "m.toml").string() + " -q -o " + out.string()));
  REQUIRE(r.exit_code == 0);
  std::map<std::string, std::vector<double>> t, peak;
  for (const auto& row : read_csv_rows(out)) {
    REQUIRE(row.at("status") == "ok");
    const double tracked = std::stod(row.at("peak_mem_bytes"));
    const double analytic = std::stod(row.at("analytic_mem_bytes"));
    INFO(row.at("variant") << " T=" << row.at("seq_len"));
    CHECK(std::abs(tracked / analytic - 1) < 0.10);
    if (row.at("variant") == "dense" && row.at("seq_len") == "4096") {
      const double rss = std::stod(row.at("process_peak_rss_bytes"));
      CHECK(std::abs(tracked / rss - 1) < 0.15);
    }
    t[row.at("variant")].push_back(std::stod(row.at("seq_len")));
    peak[row.at("variant")].push_back(tracked);
  }
  REQUIRE(t["dense"].size() == 4);
  REQUIRE(t["dense_stream"].size() == 4);
  CHECK(log_log_slope(t["dense"], peak["dense"]) == Approx(2.0).margin(0.1));
  CHECK(log_log_slope(t["dense_stream"], peak["dense_stream"]) == Approx(1.0).margin(0.1));
}
