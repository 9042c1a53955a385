// The CSV writer: quoting, number formatting, one line per row, and a round trip through the splitter.
#include <catch2/catch.hpp>

#include <cmath>

#include "harness/report/csv_format.hpp"
#include "harness/report/results_file.hpp"
#include "tests/support/test_support.hpp"

using namespace sb;

TEST_CASE("cells are quoted only when needed and newlines never split a row", "[report]") {
  CHECK(csv_escape("plain") == "plain");
  CHECK(csv_escape("a,b") == "\"a,b\"");
  CHECK(csv_escape("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_escape("line1\nline2") == "line1 line2");
  CHECK(csv_escape(" padded") == "\" padded\"");
}

TEST_CASE("JSON values become CSV cells", "[report]") {
  CHECK(csv_cell(nullptr) == "");
  CHECK(csv_cell(true) == "true");
  CHECK(csv_cell(42) == "42");
  CHECK(csv_cell(0.1) == "0.1");  // shortest round-trip form
  CHECK(csv_cell(1e-7) == "1e-07");
  CHECK(csv_cell(std::nan("")) == "nan");
  CHECK(csv_cell("x,y") == "\"x,y\"");
}

TEST_CASE("a line round-trips through csv_split, in column order, absent keys empty", "[report]") {
  const std::vector<std::string> columns = {"case_id", "error", "rel_err", "missing"};
  const nlohmann::json row = {{"case_id", "abc"}, {"error", "bad \"thing\", see\nlog"}, {"rel_err", 0.25}};
  const std::string line = csv_line(columns, row);
  CHECK(line.back() == '\n');
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  const auto cells = csv_split(line);
  REQUIRE(cells.size() == 4);
  CHECK(cells[0] == "abc");
  CHECK(cells[1] == "bad \"thing\", see log");
  CHECK(cells[2] == "0.25");
  CHECK(cells[3] == "");
}

TEST_CASE("results_file writes a header once and appends rows; resume reads the ids back", "[report]") {
  test::temp_dir dir;
  const auto path = dir / "r.csv";
  const std::vector<std::string> columns = {"case_id", "status", "error"};
  {
    results_file f(path, columns, open_mode::create);
    f.append({{"case_id", "a"}, {"status", "ok"}});
    f.append({{"case_id", "b"}, {"status", "error"}, {"error", "x, y"}});
  }
  CHECK(test::read_text(path) == "case_id,status,error\na,ok,\nb,error,\"x, y\"\n");
  CHECK_THROWS_WITH(results_file(path, columns, open_mode::create), Catch::Contains("--resume"));
  {
    results_file f(path, {"case_id", "status", "error", "new_column"}, open_mode::resume);
    CHECK(f.existing().case_ids == std::set<std::string>{"a", "b"});
    CHECK(f.dropped_columns() == std::vector<std::string>{"new_column"});
    f.append({{"case_id", "c"}, {"status", "ok"}, {"new_column", 1}});
  }
  CHECK(test::read_csv_rows(path).size() == 3);
  {
    results_file f(path, columns, open_mode::overwrite);
  }
  CHECK(test::read_text(path) == "case_id,status,error\n");
}

TEST_CASE("resume rejects a row with the wrong number of cells without changing the file", "[report]") {
  test::temp_dir dir;
  const auto path = dir / "r.csv";
  test::write_text(path, "case_id,status\na,ok\nb,ok,extra\n");
  CHECK_THROWS_WITH(read_existing_results(path), Catch::Contains("line 3"));
  CHECK(test::read_text(path) == "case_id,status\na,ok\nb,ok,extra\n");
}
