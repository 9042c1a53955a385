// The tables of `seabench report`: the paper's figure-table layout (methods as rows, T as columns,
// OOM cells, a mean column), the cost-point table (method, k, K: latency, memory, accuracy) and the
// SEA per-stage breakdown, with an environment header taken from the rows. Rendered as markdown or
// as one CSV.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/report/tables/result_set.hpp"

namespace sb::report {

/// One table cell: a number (with an optional p10–p90 range and a note such as "2/3 T"), or text
/// ("OOM", "error", a method label).
struct table_cell {
  std::string text;
  std::optional<double> value, lo, hi;
  std::string note;  ///< shown after the number in markdown ("(50%)", "(3/4 T)")
  [[nodiscard]] bool numeric() const { return value.has_value(); }
};

struct table {
  std::string title;                       ///< "Median latency (ms), p10–p90 in brackets"
  std::vector<std::string> header;          ///< column names (units included)
  std::vector<std::vector<table_cell>> rows;
  std::vector<std::string> notes;           ///< printed under the table in markdown
};

struct report_document {
  std::string heading;
  std::vector<std::string> environment;  ///< "device: cpu", "commit: 8fbff37", "rows written: a … b"
  std::vector<table> tables;
};

enum class report_layout { figure, cost, stages };
enum class figure_metric { both, latency, memory };

struct report_options {
  report_layout layout = report_layout::figure;
  figure_metric metric = figure_metric::both;
  bool per_sample = false;          ///< divide latency and memory by the batch size (the paper's per-sample numbers)
  std::vector<std::string> by;      ///< explicit method grouping (see grouping::by); empty = default
  std::vector<std::string> where;   ///< the --where terms, for the heading
};

/// Build the report. Throws input_error naming a missing column, or when the layout has nothing to
/// show (no SEA rows with stage columns for `stages`).
[[nodiscard]] report_document build_report(const result_set& rows, const report_options& o);

/// The environment lines: device, device name, host, CPU, driver/CUDA columns when present, build,
/// commit(s), the range of row timestamps, the number of runs and rows.
[[nodiscard]] std::vector<std::string> environment_lines(const result_set& rows);

[[nodiscard]] std::string render_markdown(const report_document& doc);
/// One CSV: a `table` column, then the union of the tables' columns by name; a number cell with a
/// range adds `<column> p10` and `<column> p90` columns. No environment lines (plain CSV).
[[nodiscard]] std::string render_csv(const report_document& doc);

}  // namespace sb::report
