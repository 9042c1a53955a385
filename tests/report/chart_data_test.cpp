// What `seabench chart` draws, checked without a plotting tool: presets, one line per method, medians
// over seeds, lines that stop where a case failed, failure markers, units and axis ranges. Data:
// tests/report/fixtures/long_seq.csv (see report_tables_test.cpp) and small in-memory tables.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "harness/report/charts/chart_data.hpp"
#include "harness/report/charts/gnuplot_chart.hpp"
#include "harness/report/tables/result_set.hpp"

using namespace sb::report;

namespace {

result_set long_seq() {
  return load_results({std::filesystem::path(SEABENCH_SOURCE_DIR) / "tests/report/fixtures/long_seq.csv"});
}

const chart_line& line_named(const chart_data& d, const std::string& label) {
  for (const auto& l : d.lines)
    if (l.label == label) return l;
  FAIL("no line " << label);
  throw std::logic_error("unreachable");
}

std::vector<double> xs(const std::vector<chart_point>& seg) {
  std::vector<double> out;
  for (const auto& p : seg) out.push_back(p.x);
  return out;
}

chart_spec preset(chart_preset p) {
  chart_request r;
  r.preset = p;
  return resolve_spec(r);
}

}  // namespace

TEST_CASE("presets pick columns, log axes and titles", "[report][chart]") {
  const auto mem = preset(chart_preset::memory_vs_T);
  CHECK(mem.x == "seq_len");
  CHECK(mem.y == "peak_mem_bytes");
  CHECK(mem.logx);
  CHECK(mem.logy);
  CHECK(mem.title == "Peak memory vs sequence length");
  const auto acc = preset(chart_preset::accuracy_vs_k);
  CHECK(acc.x == "k");
  CHECK(acc.y == "rel_err");
  CHECK(acc.logy);  // an error spans decades
  chart_request recall;
  recall.preset = chart_preset::accuracy_vs_k;
  recall.y = "mass_recall";
  const auto r = resolve_spec(recall);
  CHECK_FALSE(r.logy);  // a fraction: linear
  CHECK(r.title == "Attention mass recall vs budget k");
  const auto trade = preset(chart_preset::tradeoff);
  CHECK(trade.scatter);
  CHECK(trade.x == "latency_ms_median");
  chart_request bare;
  CHECK_THROWS_AS(resolve_spec(bare), input_error);
  bare.x = "seq_len";
  bare.y = "cos_sim";
  bare.logy = true;
  const auto b = resolve_spec(bare);
  CHECK_FALSE(b.logx);
  CHECK(b.logy);
  CHECK_THROWS_WITH(parse_preset("memory"), Catch::Contains("memory-vs-T"));
}

TEST_CASE("memory vs T: one line per method, stopping at its OOM, markers stacked at the top", "[report][chart]") {
  const auto d = build_chart(long_seq(), preset(chart_preset::memory_vs_T));
  std::vector<std::string> labels;
  for (const auto& l : d.lines) labels.push_back(l.label);
  // reformer's only row is unsupported: no line, but a note.
  CHECK(labels == std::vector<std::string>{"dense", "performer nbf=4", "performer nbf=8", "sea k=32", "sea k=64"});
  REQUIRE(d.notes.size() == 1);
  CHECK_THAT(d.notes[0], Catch::Contains("reformer") && Catch::Contains("unsupported"));
  CHECK(d.yaxis.label() == "peak memory (MiB)");
  CHECK(d.xaxis.label() == "sequence length T (tokens)");
  CHECK(d.xtics == std::vector<double>{1024, 2048, 4096});

  const auto& dense = line_named(d, "dense");
  REQUIRE(dense.segments.size() == 1);
  CHECK(xs(dense.segments[0]) == std::vector<double>{1024, 2048});
  CHECK(dense.segments[0][0].y == Approx(16.0));  // MiB (both seeds)
  CHECK(dense.segments[0][1].y == Approx(64.0));
  REQUIRE(dense.failures.size() == 1);
  CHECK(dense.failures[0].text == "OOM");
  CHECK(*dense.failures[0].x == 4096);
  CHECK(dense.failures[0].stack == 0);
  const auto& sea = line_named(d, "sea k=32");
  REQUIRE(sea.failures.size() == 1);
  CHECK(sea.failures[0].text == "error");
  CHECK(sea.failures[0].stack == 1);  // the second marker at T=4096 sits below the first
  CHECK(xs(sea.segments.at(0)) == std::vector<double>{1024, 2048});
  CHECK(line_named(d, "performer nbf=8").failures.empty());
  // The y range leaves a band above the data for the markers (log2 axis, two stacked markers).
  CHECK(d.marker_band == Approx(0.14));
  const double data_top = std::log(64.0), lo = std::log(d.ymin), hi = std::log(d.ymax);
  CHECK((data_top - lo) / (hi - lo) < 1.0 - d.marker_band + 1e-9);
  CHECK(d.ymin < 0.5);
  CHECK(d.xmin < 1024);
  CHECK(d.xmax > 4096);
}

TEST_CASE("latency: medians over seeds; extrapolation only past an OOM", "[report][chart]") {
  chart_request r;
  r.preset = chart_preset::latency_vs_T;
  r.extrapolate = true;
  const auto d = build_chart(long_seq(), resolve_spec(r));
  const auto& dense = line_named(d, "dense");
  CHECK(dense.segments[0][0].y == Approx(11.0));  // median of 10 and 12
  CHECK(d.yaxis.unit == "ms");
  // log-log slope 2 from (1024, 11) to (2048, 40): the next doubling is 40 * (40/11).
  REQUIRE(dense.extrapolated.size() == 2);
  CHECK(dense.extrapolated[1].x == 4096);
  CHECK(dense.extrapolated[1].y == Approx(40.0 * 40.0 / 11.0));
  CHECK(line_named(d, "sea k=32").extrapolated.empty());  // an error is not extrapolated
}

TEST_CASE("a line with points after a failure is broken there", "[report][chart]") {
  result_set rows;
  rows.append("gap.csv", {"variant", "status", "seq_len", "peak_mem_bytes"},
              {{"x", "ok", "1024", "1048576"},
               {"x", "ok", "2048", "2097152"},
               {"x", "timeout", "4096", ""},
               {"x", "ok", "8192", "8388608"},
               {"x", "ok", "16384", "16777216"}});
  const auto d = build_chart(rows, preset(chart_preset::memory_vs_T));
  REQUIRE(d.lines.size() == 1);
  const auto& l = d.lines[0];
  REQUIRE(l.segments.size() == 2);
  CHECK(xs(l.segments[0]) == std::vector<double>{1024, 2048});
  CHECK(xs(l.segments[1]) == std::vector<double>{8192, 16384});
  REQUIRE(l.failures.size() == 1);
  CHECK(l.failures[0].text == "timeout");
}

TEST_CASE("accuracy vs k: methods without k become reference lines", "[report][chart]") {
  const auto rows = select_rows(long_seq(), {parse_where("seq_len=1024")});
  const auto d = build_chart(rows, preset(chart_preset::accuracy_vs_k));
  const auto& sea = line_named(d, "sea");
  REQUIRE(sea.segments.size() == 1);
  CHECK(xs(sea.segments[0]) == std::vector<double>{32, 64});
  CHECK(sea.segments[0][1].y == Approx(0.03));
  const auto& dense = line_named(d, "dense");
  CHECK(dense.segments.empty());
  REQUIRE(dense.constant_y);
  CHECK(*dense.constant_y == Approx(1e-7));
  CHECK(d.logy_base == 10);
}

TEST_CASE("trade-off scatter: one point per cost point, failures without an x listed", "[report][chart]") {
  const auto rows = select_rows(long_seq(), {parse_where("seq_len=1024,4096")});
  const auto d = build_chart(rows, preset(chart_preset::tradeoff));
  const auto& perf = line_named(d, "performer seq_len=1024");
  REQUIRE(perf.segments.size() == 1);
  REQUIRE(perf.segments[0].size() == 2);
  CHECK(perf.segments[0][0].label == "nbf=8");  // sorted by latency: 1.5 ms first
  CHECK(perf.segments[0][0].x == Approx(1.5));
  CHECK(perf.segments[0][1].label == "nbf=4");
  const auto& sea = line_named(d, "sea seq_len=1024");
  CHECK(sea.segments[0][0].label == "k=32");
  const auto& oom = line_named(d, "dense seq_len=4096");
  REQUIRE(oom.failures.size() == 1);
  CHECK_FALSE(oom.failures[0].x);  // an OOM row has no latency
  CHECK(oom.failures[0].text == "OOM");
  // Legend entry text for it in the script.
  const std::string script = gnuplot_script(d, "t.svg", image_format::svg);
  CHECK_THAT(script, Catch::Contains("dense seq_len=4096: OOM (no median latency value)"));
}

TEST_CASE("chart errors: missing columns, nothing to draw", "[report][chart]") {
  const auto rows = long_seq();
  chart_request r;
  r.x = "seq_len";
  r.y = "no_such_metric";
  CHECK_THROWS_WITH(build_chart(rows, resolve_spec(r)), Catch::Contains("no_such_metric"));
  // A column no selected row has a value in, and no failure: nothing to draw.
  const auto perf = select_rows(rows, {parse_where("variant=performer")});
  r.y = "mass_recall";
  CHECK_THROWS_WITH(build_chart(perf, resolve_spec(r)), Catch::Contains("nothing to plot") && Catch::Contains("mass_recall"));
  CHECK_THROWS_AS(image_format_for("chart.pdf"), input_error);
  CHECK(image_format_for("a/chart.SVG") == image_format::svg);
  CHECK(image_format_for("chart.png") == image_format::png);
}

TEST_CASE("the gnuplot script carries labels, data and markers", "[report][chart]") {
  const auto d = build_chart(long_seq(), preset(chart_preset::memory_vs_T));
  const std::string s = gnuplot_script(d, "out/mem.png", image_format::png);
  CHECK_THAT(s, Catch::Contains("set output \"out/mem.png\""));
  CHECK_THAT(s, Catch::Contains("pngcairo"));
  CHECK_THAT(s, Catch::Contains("set logscale x 2"));
  CHECK_THAT(s, Catch::Contains("set logscale y 2"));
  CHECK_THAT(s, Catch::Contains("set ylabel \"peak memory (MiB)\""));
  CHECK_THAT(s, Catch::Contains("title \"performer nbf=4\""));
  CHECK_THAT(s, Catch::Contains("set label 1 \"OOM\" at first 4096, graph 0.965"));
  CHECK_THAT(s, Catch::Contains("set xtics (\"1k\" 1024, \"2k\" 2048, \"4k\" 4096)"));
  // dense's data block holds its two points and nothing at T=4096.
  const auto block = s.find("$line0_0 << EOD\n");
  REQUIRE(block != std::string::npos);
  CHECK(s.substr(block, s.find("EOD\n", block + 16) - block) == "$line0_0 << EOD\n1024 16 \"\"\n2048 64 \"\"\n");
  // Quotes and backslashes in user text are escaped.
  chart_data q = d;
  q.title = "a \"quoted\" \\ title";
  q.subtitle.clear();
  CHECK_THAT(gnuplot_script(q, "x.svg", image_format::svg), Catch::Contains("set title \"a \\\"quoted\\\" \\\\ title\""));
}
