// `seabench report` end to end through the binary: files written in markdown and CSV, and exit 2
// with a message naming the problem for a missing column, an empty selection, an unreadable file.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/support/test_support.hpp"

using namespace sb::test;

namespace {

std::string fixture(const std::string& name) {
  return (std::filesystem::path(SEABENCH_SOURCE_DIR) / "tests/report/fixtures" / name).string();
}

}  // namespace

TEST_CASE("report: bad input exits 2 with a message naming it", "[report][cli]") {
  temp_dir dir;
  const std::string f = fixture("long_seq.csv");
  struct bad {
    std::string args, expected;
  };
  const std::vector<bad> cases = {
      {"report " + fixture("no_memory.csv"), "peak_mem_bytes"},
      {"report " + f + " --where variant=bigbird", "empty selection"},
      {"report " + f + " --where nonsense=1", "nonsense"},
      {"report " + f + " --layout stages --where variant=dense", "variant=sea"},
      {"report " + f + " --layout pretty", "pretty"},
      {"report " + (dir / "missing.csv").string(), "missing.csv"},
      {"report " + dir.path().string(), dir.path().filename().string()},
      {"report " + f + " --format html", "html"},
      {"report " + f + " --metric speed", "speed"},
  };
  for (const auto& c : cases) {
    INFO(c.args);
    const auto r = run_command(seabench(c.args));
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(c.expected));
  }
}

TEST_CASE("report writes markdown and CSV files", "[report][cli]") {
  temp_dir dir;
  const auto md = dir / "t.md";
  REQUIRE(run_command(seabench("report " + fixture("long_seq.csv") + " -o " + md.string())).exit_code == 0);
  CHECK_THAT(read_text(md), Catch::Contains("| dense | 16.0 | 64.0 | OOM | 40.0 (2/3 T) |"));
  const auto csv = dir / "t.csv";
  REQUIRE(run_command(seabench("report " + fixture("long_seq.csv") + " --layout cost --where seq_len=1024 -o " +
                               csv.string()))
              .exit_code == 0);
  const auto rows = read_csv_rows(csv);
  REQUIRE(rows.size() == 6);
  CHECK(rows[3].at("method") == "sea");
  CHECK(rows[3].at("k") == "32");
  CHECK(rows[3].at("K") == "128");
  CHECK(rows[3].at("latency (ms)") == "5");
  CHECK(rows[3].at("latency (ms) p90") == "6");
  CHECK(rows[3].at("mass_recall") == "0.9");
}

