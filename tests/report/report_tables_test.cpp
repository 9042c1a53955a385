// `seabench report` tables on the hand-written fixture tests/report/fixtures/long_seq.csv (dense with
// two seeds at T=1024 and an OOM at 4096, performer nbf 4 and 8, SEA k 32 (error at 4096) and 64,
// one unsupported reformer row). Every expected number below is worked out by hand from that file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "harness/report/csv_format.hpp"
#include "harness/report/tables/column_units.hpp"
#include "harness/report/tables/methods.hpp"
#include "harness/report/tables/paper_tables.hpp"
#include "harness/report/tables/result_set.hpp"
#include "tests/support/test_support.hpp"

using namespace sb::report;

namespace {

std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(SEABENCH_SOURCE_DIR) / "tests/report/fixtures" / name;
}

result_set long_seq() { return load_results({fixture("long_seq.csv")}); }

/// The markdown line of the table row whose method cell is `method`, within the section titled `title`.
std::string md_row(const std::string& md, const std::string& section, const std::string& method) {
  const auto start = md.find("## " + section);
  REQUIRE(start != std::string::npos);
  const auto row = md.find("\n| " + method + " |", start);
  REQUIRE(row != std::string::npos);
  const auto end = md.find('\n', row + 1);
  return md.substr(row + 1, end - row - 1);
}

}  // namespace

TEST_CASE("result files are read by column name and concatenated", "[report]") {
  const result_set rows = long_seq();
  REQUIRE(rows.size() == 15);
  CHECK(rows.cell(0, "variant") == "dense");
  CHECK(rows.number(3, "oom_requested_bytes") == Approx(268435456.0));
  CHECK(rows.cell(3, "status") == "oom");

  // A second file with other columns: matched by name, missing cells empty.
  result_set both = long_seq();
  both.append("extra.csv", {"status", "variant", "seq_len", "driver_version"}, {{"ok", "window", "512", "550.1"}});
  REQUIRE(both.size() == 16);
  CHECK(both.cell(15, "variant") == "window");
  CHECK(both.cell(15, "seq_len") == "512");
  CHECK(both.cell(15, "peak_mem_bytes").empty());
  CHECK(both.cell(0, "driver_version").empty());
  CHECK(both.columns().back() == "driver_version");
}

TEST_CASE("where filters select rows, numerically where both sides are numbers", "[report]") {
  const result_set rows = long_seq();
  CHECK(select_rows(rows, {parse_where("seq_len=1024.0")}).size() == 7);
  CHECK(select_rows(rows, {parse_where("seq_len=1024,2048")}).size() == 11);
  CHECK(select_rows(rows, {parse_where("variant!=dense,reformer")}).size() == 10);
  CHECK(select_rows(rows, {parse_where("variant=sea"), parse_where("k=64")}).size() == 1);
  // An empty value matches empty cells: k=32 plus the variants without k.
  CHECK(select_rows(rows, {parse_where("k=32,")}).size() == 3 + 4 + 6);
  // A parameter by its name: K is the param_K column.
  CHECK(select_rows(rows, {parse_where("K=128")}).size() == 4);
  CHECK(select_rows(rows, {parse_where("nbf=8")}).size() == 3);
  CHECK_THROWS_AS(parse_where("seq_len"), input_error);
  CHECK_THROWS_AS(parse_where("=3"), input_error);
  try {
    (void)select_rows(rows, {parse_where("variant=bigbird")});
    FAIL("an empty selection must throw");
  } catch (const input_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("empty selection") && Catch::Contains("variant=bigbird") &&
                             Catch::Contains("dense"));
  }
  try {
    (void)select_rows(rows, {parse_where("no_such_column=1")});
    FAIL("a missing column must throw");
  } catch (const input_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("no_such_column") && Catch::Contains("long_seq.csv"));
  }
}

TEST_CASE("methods are named by what distinguishes them in the selection", "[report]") {
  const result_set rows = long_seq();
  grouping g;
  g.exclude = {"seq_len"};
  std::vector<std::string> labels;
  for (const auto& m : group_methods(rows, g)) labels.push_back(m.label());
  CHECK(labels == std::vector<std::string>{"dense", "performer nbf=4", "performer nbf=8", "sea k=32", "sea k=64",
                                           "reformer k=64"});
  // Only SEA k=32: nothing distinguishes it any more.
  const result_set sea32 = select_rows(rows, {parse_where("variant=sea"), parse_where("k=32")});
  g.exclude = {"seq_len"};
  const auto one = group_methods(sea32, g);
  REQUIRE(one.size() == 1);
  CHECK(one[0].label() == "sea");
  CHECK(one[0].rows.size() == 3);
  // Without excluding T, T splits them.
  CHECK(group_methods(sea32, {}).size() == 3);
}

TEST_CASE("figure layout: methods x T with medians, p10-p90, OOM cells and a mean column", "[report]") {
  const auto doc = build_report(long_seq(), {});
  REQUIRE(doc.tables.size() == 2);
  const std::string md = render_markdown(doc);
  // dense at T=1024: two seeds, medians of (10, 12), (9, 11), (12, 13).
  CHECK(md_row(md, "Median latency", "dense") == "| dense | 11.0 (10.0–12.5) | 40.0 (38.0–44.0) | OOM | 25.5 (2/3 T) |");
  CHECK(md_row(md, "Median latency", "performer nbf=8") ==
        "| performer nbf=8 | 1.50 (1.35–1.80) | 3.00 (2.70–3.60) | 6.00 (5.40–7.20) | 3.50 |");
  CHECK(md_row(md, "Median latency", "sea k=32") == "| sea k=32 | 5.00 (4.50–6.00) | 9.00 (8.00–10.0) | error | 7.00 (2/3 T) |");
  CHECK(md_row(md, "Median latency", "sea k=64") == "| sea k=64 | 6.00 (5.50–7.00) |  |  | 6.00 (1/3 T) |");
  CHECK(md_row(md, "Median latency", "reformer k=64") == "| reformer k=64 | n/a |  |  |  |");
  CHECK(md_row(md, "Peak memory", "dense") == "| dense | 16.0 | 64.0 | OOM | 40.0 (2/3 T) |");
  CHECK(md_row(md, "Peak memory", "performer nbf=4") == "| performer nbf=4 | 1.00 | 2.00 | 4.00 | 2.33 |");
  CHECK_THAT(md, Catch::Contains("| method | T=1024 | T=2048 | T=4096 | mean (ms) |"));
  CHECK_THAT(md, Catch::Contains("## Peak memory (MiB)"));
  // The environment header comes from the rows.
  CHECK_THAT(md, Catch::Contains("- host: testhost"));
  CHECK_THAT(md, Catch::Contains("- commit: abc1234"));
  CHECK_THAT(md, Catch::Contains("- rows written: 2026-01-01T00:00:00Z … 2026-01-04T00:00:00Z"));
  CHECK_THAT(md, Catch::Contains("- device name: Test CPU"));
}

TEST_CASE("figure layout per sample and memory only", "[report]") {
  result_set rows;
  rows.append("b.csv", {"variant", "status", "seq_len", "batch", "latency_ms_median", "peak_mem_bytes"},
              {{"dense", "ok", "256", "96", "0.096", "943718400"}, {"dense", "ok", "512", "96", "0.384", "oom"}});
  report_options o;
  o.metric = figure_metric::memory;
  o.per_sample = true;
  const auto doc = build_report(rows, o);
  REQUIRE(doc.tables.size() == 1);
  // 900 MiB / 96 = 9.375 MiB per sample; a non-number cell in an ok row is "n/m".
  CHECK(md_row(render_markdown(doc), "Peak memory per sample (MiB)", "dense") == "| dense | 9.38 | n/m | 9.38 (1/2 T) |");
  o.metric = figure_metric::latency;
  // 0.096 ms / 96 = 1 µs: below 1 ms, shown in µs.
  CHECK(md_row(render_markdown(build_report(rows, o)), "Median latency per sample (µs)", "dense") ==
        "| dense | 1.00 | 4.00 | 2.50 |");
}

TEST_CASE("cost-point layout: method, k, K, latency, memory, accuracy", "[report]") {
  report_options o;
  o.layout = report_layout::cost;
  const auto rows = select_rows(long_seq(), {parse_where("seq_len=1024")});
  const std::string md = render_markdown(build_report(rows, o));
  CHECK_THAT(md, Catch::Contains(
                     "| method | k | K | latency (ms) | peak memory (MiB) | rel_err | mass_recall | keys/query |"));
  CHECK(md_row(md, "Cost points", "sea | 32") == "| sea | 32 | 128 | 5.00 (4.50–6.00) | 4.00 | 0.0500 | 0.900 | 96.0 |");
  CHECK(md_row(md, "Cost points", "sea | 64") == "| sea | 64 | 128 | 6.00 (5.50–7.00) | 5.00 | 0.0300 | 0.950 | 180 |");
  CHECK(md_row(md, "Cost points", "performer nbf=4") ==
        "| performer nbf=4 |  |  | 2.00 (1.80–2.40) | 1.00 | 0.200 | n/m | n/m |");
  CHECK(md_row(md, "Cost points", "reformer") == "| reformer | 64 |  | n/a | n/a | n/a | n/a | n/a |");

  // An OOM cost point.
  const auto oom = select_rows(long_seq(), {parse_where("seq_len=4096"), parse_where("variant=dense")});
  CHECK(md_row(render_markdown(build_report(oom, o)), "Cost points", "dense") == "| dense |  |  | OOM | OOM |");
}

TEST_CASE("stages layout: SEA's stage timers with their shares", "[report]") {
  report_options o;
  o.layout = report_layout::stages;
  const std::string md = render_markdown(build_report(long_seq(), o));
  CHECK_THAT(md, Catch::Contains("| method | estimate (ms) | topk (ms) | mask (ms) | attend (ms) | mix (ms) | total (ms) | "
                                 "latency (harness) (ms) |"));
  CHECK(md_row(md, "SEA per-stage", "sea k=32 seq_len=1024") ==
        "| sea k=32 seq_len=1024 | 2.00 (40%) | 1.00 (20%) | 0.500 (10%) | 1.50 (30%) | 0 (0%) | 5.00 | 5.00 |");
  CHECK(md_row(md, "SEA per-stage", "sea k=32 seq_len=4096") ==
        "| sea k=32 seq_len=4096 | error | error | error | error | error | error | error |");
  CHECK(md.find("| dense") == std::string::npos);

  // No SEA rows, or no stage columns: a clear error.
  const auto dense = select_rows(long_seq(), {parse_where("variant=dense")});
  CHECK_THROWS_WITH(build_report(dense, o), Catch::Contains("variant=sea"));
  result_set plain;
  plain.append("plain.csv", {"variant", "status", "seq_len"}, {{"sea", "ok", "512"}});
  CHECK_THROWS_WITH(build_report(plain, o), Catch::Contains("sea_estimate_ms") && Catch::Contains("plain.csv"));
}

TEST_CASE("a missing column is an error naming it", "[report]") {
  const result_set rows = load_results({fixture("no_memory.csv")});
  CHECK_THROWS_WITH(build_report(rows, {}), Catch::Contains("peak_mem_bytes") && Catch::Contains("no_memory.csv"));
  report_options latency_only;
  latency_only.metric = figure_metric::latency;
  CHECK_NOTHROW(build_report(rows, latency_only));
}

TEST_CASE("CSV output: one table column, ranges as p10/p90 columns", "[report]") {
  report_options o;
  o.metric = figure_metric::latency;
  const std::string csv = render_csv(build_report(long_seq(), o));
  std::vector<std::vector<std::string>> lines;
  std::size_t pos = 0;
  while (pos < csv.size()) {
    const auto nl = csv.find('\n', pos);
    lines.push_back(sb::csv_split(std::string_view(csv).substr(pos, nl - pos)));
    pos = nl + 1;
  }
  REQUIRE(lines.size() == 7);  // header + 6 methods
  const std::vector<std::string> header = {"table",     "method",        "T=1024",        "T=1024 p10",
                                           "T=1024 p90", "T=2048",       "T=2048 p10",    "T=2048 p90",
                                           "T=4096",    "T=4096 p10",    "T=4096 p90",    "mean (ms)"};
  CHECK(lines[0] == header);
  for (const auto& l : lines) CHECK(l.size() == header.size());
  CHECK(lines[1][1] == "dense");
  CHECK(lines[1][2] == "11");
  CHECK(lines[1][3] == "10");
  CHECK(lines[1][4] == "12.5");
  CHECK(lines[1][8] == "OOM");
  CHECK(lines[1][11] == "25.5");
}

TEST_CASE("incomplete last lines are skipped; a malformed row elsewhere is an error", "[report]") {
  const sb::test::temp_dir tmp;
  const auto dir = tmp.path();
  {
    std::ofstream(dir / "torn.csv") << "variant,status,seq_len\ndense,ok,512\ndense,o";
    std::ofstream(dir / "bad.csv") << "variant,status,seq_len\ndense,ok\ndense,ok,512\n";
    std::ofstream(dir / "empty.csv") << "";
  }
  CHECK(load_results({dir / "torn.csv"}).size() == 1);
  CHECK_THROWS_WITH(load_results({dir / "bad.csv"}), Catch::Contains("bad.csv:2"));
  CHECK_THROWS_WITH(load_results({dir / "empty.csv"}), Catch::Contains("empty.csv"));
  CHECK_THROWS_WITH(load_results({dir / "missing.csv"}), Catch::Contains("missing.csv"));
  CHECK_THROWS_WITH(load_results({dir}), Catch::Contains(dir.string()));
}

TEST_CASE("column units come from the column name", "[report]") {
  CHECK(describe_column("latency_ms_median").label() == "median latency (ms)");
  CHECK(describe_column("sea_estimate_ms").unit == "ms");
  CHECK(describe_column("case_wall_s").unit == "s");
  CHECK(describe_column("peak_mem_bytes", 3.0 * 1024 * 1024).label() == "peak memory (MiB)");
  CHECK(describe_column("peak_mem_bytes", 3.0 * 1024 * 1024).scale == Approx(1.0 / (1024 * 1024)));
  CHECK(describe_column("peak_mem_bytes", 5e9).unit == "GiB");
  CHECK(describe_column("peak_mem_bytes", 2048).unit == "KiB");
  CHECK(describe_column("seq_len").label() == "sequence length T (tokens)");
  CHECK(describe_column("flops_executed").unit == "GFLOP");
  CHECK(describe_column("gflops_per_s").unit == "GFLOP/s");
  CHECK(describe_column("samples").unit.empty());  // "samples" holds no "ms" token
  CHECK(format_number(23.814517) == "23.8");
  CHECK(format_number(0.5) == "0.500");
  CHECK(format_number(1024) == "1024");
  CHECK(format_number(1.2e-7) == "1.20e-07");
}
