// `seabench chart` end to end through the binary: an SVG from the fixture CSV that names its title,
// axis units, legend entries and OOM markers; and the exit codes and messages for a missing column,
// an empty selection, an unreadable file and a missing gnuplot.
#include <catch2/catch.hpp>

#include <filesystem>

#include "harness/report/charts/gnuplot_chart.hpp"
#include "tests/support/test_support.hpp"

using namespace sb::test;

namespace {

std::string fixture(const std::string& name) {
  return (std::filesystem::path(SEABENCH_SOURCE_DIR) / "tests/report/fixtures" / name).string();
}

bool have_gnuplot() {
  try {
    (void)sb::report::find_gnuplot();
    return true;
  } catch (const sb::report::plot_tool_error& e) {
    WARN("gnuplot is not installed, chart rendering not tested: " << e.what());
    return false;
  }
}

}  // namespace

TEST_CASE("chart renders an SVG with title, units, legend and OOM markers", "[report][chart]") {
  if (!have_gnuplot()) return;
  temp_dir dir;
  const auto svg = dir / "memory.svg";
  const auto r = run_command(seabench("chart " + fixture("long_seq.csv") + " --preset memory-vs-T -o " + svg.string()));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string text = read_text(svg);
  REQUIRE(text.find("<svg") != std::string::npos);
  CHECK_THAT(text, Catch::Contains(">Peak memory vs sequence length<"));
  CHECK_THAT(text, Catch::Contains(">peak memory (MiB)<"));
  CHECK_THAT(text, Catch::Contains(">sequence length T (tokens)<"));
  for (const char* entry : {">dense<", ">performer nbf=4<", ">performer nbf=8<", ">sea k=32<", ">sea k=64<"})
    CHECK_THAT(text, Catch::Contains(entry));
  CHECK_THAT(text, Catch::Contains(">OOM<"));
  CHECK_THAT(text, Catch::Contains(">error<"));
  // The unsupported reformer row is reported, not silently dropped.
  CHECK_THAT(r.output, Catch::Contains("reformer") && Catch::Contains("unsupported"));

  const auto lat = dir / "latency.svg";
  const auto r2 = run_command(seabench("chart " + fixture("long_seq.csv") + " --preset latency-vs-T --title \"My latency\" -o " +
                                       lat.string()));
  REQUIRE(r2.exit_code == 0);
  const std::string t2 = read_text(lat);
  CHECK_THAT(t2, Catch::Contains(">My latency<"));
  CHECK_THAT(t2, Catch::Contains(">median latency (ms)<"));
}

TEST_CASE("chart renders PNG for the other presets", "[report][chart]") {
  if (!have_gnuplot()) return;
  temp_dir dir;
  for (const std::string p : {"accuracy-vs-k", "tradeoff"}) {
    INFO(p);
    const auto png = dir / (p + ".png");
    const auto r = run_command(seabench("chart " + fixture("long_seq.csv") + " --where seq_len=1024 --preset " + p +
                                        " -o " + png.string()));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const std::string bytes = read_text(png);
    REQUIRE(bytes.size() > 8);
    CHECK(bytes.substr(1, 3) == "PNG");
  }
}

TEST_CASE("chart: bad input exits 2 with a message naming it", "[report][chart][cli]") {
  temp_dir dir;
  const std::string f = fixture("long_seq.csv");
  const std::string out = (dir / "c.svg").string();
  struct bad {
    std::string args, expected;
  };
  const std::vector<bad> cases = {
      {"chart " + f + " --x seq_len --y no_such_col -o " + out, "no_such_col"},
      {"chart " + f + " --preset memory-vs-T --where variant=bigbird -o " + out, "empty selection"},
      {"chart " + f + " --preset memory-vs-T --where colour=red -o " + out, "colour"},
      {"chart " + f + " --preset memory -o " + out, "memory-vs-T"},
      {"chart " + f + " --preset memory-vs-T -o " + (dir / "c.pdf").string(), ".png or .svg"},
      {"chart " + f + " -o " + out, "--preset"},
      {"chart " + f + " --preset memory-vs-T -o " + (dir / "no-such-dir" / "c.svg").string(), "no-such-dir"},
      {"chart " + (dir / "missing.csv").string() + " --preset memory-vs-T -o " + out, "missing.csv"},
      {"chart " + dir.path().string() + " --preset memory-vs-T -o " + out, dir.path().filename().string()},
  };
  for (const auto& c : cases) {
    INFO(c.args);
    const auto r = run_command(seabench(c.args));
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(c.expected));
  }
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("chart without gnuplot fails with a message naming the package", "[report][chart]") {
  temp_dir dir;
  const auto r = run_command("SEABENCH_GNUPLOT=" + (dir / "no-gnuplot").string() + " " +
                             seabench("chart " + fixture("long_seq.csv") + " --preset memory-vs-T -o " +
                                      (dir / "c.svg").string()));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("gnuplot-nox"));
}
