// Grouping result rows into "methods": the lines of a chart and the rows of a report table. A method
// is a variant plus whatever distinguishes its rows within the selection: the variant parameters
// whose values differ among that variant's rows (`performer nbf=8`), and the problem axes that vary
// in the selection (`causal=true`, `k=64`). Seeds and repeated runs of one case fall into one method.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "harness/report/tables/result_set.hpp"

namespace sb::report {

/// Problem axes a method is split by (when they vary), in label order.
[[nodiscard]] const std::vector<std::string>& problem_axes();

struct grouping {
  /// Explicit --by columns. Empty: the default (parameters plus every varying problem axis). The
  /// pseudo-column `params` stands for "the parameters that distinguish a variant's rows".
  std::vector<std::string> by;
  /// Columns never split by (a chart's x axis, a table's T columns).
  std::vector<std::string> exclude;
  /// Parameter names never split by (a table that shows them in their own column, e.g. K).
  std::vector<std::string> exclude_params;
  /// Default grouping only: also split by the parameters.
  bool split_params = true;
};

struct method {
  std::string variant;
  /// Label parts after the variant, (name, value), e.g. {"nbf","8"},{"k","64"}.
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::size_t> rows;  ///< indices into the result_set
  /// "performer nbf=8 k=64" (the variant alone when nothing distinguishes it; empty values left out).
  [[nodiscard]] std::string label() const;
  /// The value of one field, "" when it is not part of the label.
  [[nodiscard]] std::string field(const std::string& name) const;
};

/// A row's variant parameters as name → value: the `params` column ("a=1;b=2"), else its non-empty
/// `param_<name>` columns.
[[nodiscard]] std::map<std::string, std::string> row_params(const result_set& rows, std::size_t r);

/// Group the rows into methods, in order of each variant's first row, then by field values
/// (numerically where they are numbers). Throws input_error for a --by column that is absent.
[[nodiscard]] std::vector<method> group_methods(const result_set& rows, const grouping& g);

/// The problem axes (and other listed columns) that hold a single value over all rows, as
/// "name=value" parts for a title ("causal=true", "heads=4").
[[nodiscard]] std::vector<std::string> constant_fields(const result_set& rows, const std::vector<std::string>& columns);

}  // namespace sb::report
