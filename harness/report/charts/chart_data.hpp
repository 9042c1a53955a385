// What `seabench chart` draws, worked out from result rows before any plotting tool is involved:
// the presets, one line per method with its points (medians over seeds), where each line stops
// because a case failed (OOM, error, timeout), and the axes with their units.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/report/tables/column_units.hpp"
#include "harness/report/tables/result_set.hpp"

namespace sb::report {

enum class chart_preset { none, memory_vs_T, latency_vs_T, accuracy_vs_k, tradeoff };

/// "memory-vs-T" → memory_vs_T ...; throws input_error naming the allowed presets.
[[nodiscard]] chart_preset parse_preset(const std::string& name);

/// What the user asked for; empty / nullopt fields take the preset's choice.
struct chart_request {
  chart_preset preset = chart_preset::none;
  std::string x, y;
  std::vector<std::string> by;
  std::string title;
  std::optional<bool> logx, logy;
  bool scatter = false;      ///< a trade-off scatter: points are cost points, lines join a method's points
  bool extrapolate = false;  ///< dotted continuation of a line past the x where it ran out of memory
};

/// The request with the preset's defaults filled in.
struct chart_spec {
  std::string x, y;
  std::vector<std::string> by;
  std::string title;
  bool logx = false, logy = false;
  bool scatter = false;
  bool extrapolate = false;
};
/// Throws input_error when neither a preset nor both --x and --y are given.
[[nodiscard]] chart_spec resolve_spec(const chart_request& r);

struct chart_point {
  double x = 0, y = 0;    ///< in display units (axis scale applied)
  std::string label;      ///< scatter: what distinguishes the point within its line ("nbf=8")
};

/// A case that produced no measurement: drawn as a marker at the top of the y axis at `x`, labelled
/// `text` ("OOM", "error", "timeout"); without an x value, as a note in the chart.
struct chart_failure {
  std::optional<double> x;  ///< display units
  std::string text;
  std::string detail;       ///< "dense T=8192" for notes
  int stack = 0;            ///< markers at the same x are stacked downwards: 0 = at the top
};

struct chart_line {
  std::string label;
  std::vector<std::vector<chart_point>> segments;  ///< broken where a case failed between two points
  std::vector<chart_point> extrapolated;          ///< from the last point through the x's where it ran out of memory
  std::optional<double> constant_y;               ///< a method without x values (e.g. no k): a reference line
  std::vector<chart_failure> failures;
};

struct chart_data {
  std::string title;
  std::string subtitle;  ///< the fields constant over the selection
  column_display xaxis, yaxis;
  bool logx = false, logy = false;
  int logx_base = 2, logy_base = 2;
  bool scatter = false;
  std::vector<double> xtics;  ///< explicit ticks (display units) for a few distinct integer x values
  std::vector<chart_line> lines;
  std::vector<std::string> notes;  ///< rows not drawn and why (printed on stderr)
  /// Axis ranges (display units), with room at the top of the y range for the failure markers.
  double xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  /// Height of the marker band at the top, as a fraction of the plot height.
  double marker_band = 0;
};

/// Build the chart from selected rows. Throws input_error for a missing column or when there is
/// nothing to draw (no row with a value in the y column and no failed case).
[[nodiscard]] chart_data build_chart(const result_set& rows, const chart_spec& spec);

}  // namespace sb::report
