// Human labels and display units for result columns, read from the column name: `_ms` → ms,
// `_bytes` → B/KiB/MiB/GiB scaled to the values shown, `_s` → s, `flops_` → GFLOP, plus readable
// names for the schema's common columns (results/SCHEMA.md).
#pragma once

#include <string>
#include <string_view>

namespace sb::report {

struct column_display {
  std::string name;    ///< "median latency", "peak memory", "sequence length T"
  std::string unit;    ///< "ms", "MiB", "tokens", "" (dimensionless)
  double scale = 1.0;  ///< multiply a cell by this to get `unit`
  /// "median latency (ms)", or the name alone without a unit.
  [[nodiscard]] std::string label() const { return unit.empty() ? name : name + " (" + unit + ")"; }
};

/// How to show `column` when the largest magnitude shown is `max_abs` (picks the byte unit).
[[nodiscard]] column_display describe_column(std::string_view column, double max_abs = 0.0);

/// The byte unit for values up to `max_abs`: {"B",1}, {"KiB",1/1024}, {"MiB",...}, {"GiB",...}.
[[nodiscard]] column_display byte_unit(double max_abs);

/// Whether the column is an error measure, drawn on a log10 axis (rel_err, max_abs_err).
[[nodiscard]] bool is_error_column(std::string_view column);

/// A number with `digits` significant digits, without exponent for ordinary magnitudes
/// (4.5, 17.2, 0.00312, 1.2e-07).
[[nodiscard]] std::string format_number(double v, int digits = 3);

}  // namespace sb::report
