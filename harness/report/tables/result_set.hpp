// Result CSVs read back for `seabench chart` and `seabench report`: several files concatenated with
// their columns matched by name, row selection (`--where`), numeric cells and medians.
//
// Read with sb::csv_split line by line (the writer's own quoting rules; a row is always one line),
// not libfccp: libfccp's io::CSVReader<N> fixes the number and names of the columns it reads at
// compile time, while these commands read columns named at run time (--x, --y, --where, the
// variants' extra and param_ columns) from files whose headers differ.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sb::report {

/// Bad input for a report or chart: an unreadable file, a missing column, an empty selection, a
/// bad option value. The CLI prints the message and exits 2.
struct input_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Rows of one or more result CSVs. Columns are the union of the files' headers in first-seen order;
/// a row from a file without some column holds an empty cell there.
class result_set {
 public:
  [[nodiscard]] const std::vector<std::string>& columns() const { return m_columns; }
  [[nodiscard]] std::size_t size() const { return m_rows.size(); }
  [[nodiscard]] bool empty() const { return m_rows.empty(); }
  [[nodiscard]] bool has_column(std::string_view name) const;
  /// Index of `name`, or nullopt. A name that is not a column but a variant parameter finds its
  /// `param_<name>` column (`K` → `param_K`), so --where, --x, --y and --by take parameter names.
  [[nodiscard]] std::optional<std::size_t> find(std::string_view name) const;
  /// Index of `name`; throws input_error naming the column and the files when it is absent.
  [[nodiscard]] std::size_t require(std::string_view name) const;
  /// The cell of row `r` in column `c` ("" where the row's file lacks the column).
  [[nodiscard]] const std::string& cell(std::size_t r, std::size_t c) const;
  /// The cell of row `r` in column `name` ("" when the column is absent everywhere).
  [[nodiscard]] const std::string& cell(std::size_t r, std::string_view name) const;
  /// The cell as a finite number, or nullopt when empty or not a number.
  [[nodiscard]] std::optional<double> number(std::size_t r, std::size_t c) const;
  [[nodiscard]] std::optional<double> number(std::size_t r, std::string_view name) const;
  /// Which file row `r` came from.
  [[nodiscard]] const std::filesystem::path& source(std::size_t r) const { return m_files[m_row_file[r]]; }
  [[nodiscard]] const std::vector<std::filesystem::path>& files() const { return m_files; }
  /// "a.csv" or "a.csv, b.csv": for messages.
  [[nodiscard]] std::string file_list() const;

  /// Append a file (columns matched by name). Throws input_error for an unreadable file, a file
  /// without a header or a row with the wrong number of cells (an incomplete last line without a
  /// newline, as a sweep still writing leaves it, is skipped with a warning on stderr).
  void append_file(const std::filesystem::path& file);
  /// Append a header and rows directly (tests).
  void append(const std::filesystem::path& label, const std::vector<std::string>& header,
              const std::vector<std::vector<std::string>>& rows);
  /// The rows whose indices are in `keep`, in that order.
  [[nodiscard]] result_set subset(const std::vector<std::size_t>& keep) const;

 private:
  std::size_t column_slot(const std::string& name);
  std::vector<std::string> m_columns;
  std::vector<std::vector<std::string>> m_rows;  ///< each as long as m_columns (padded on access)
  std::vector<std::size_t> m_row_file;
  std::vector<std::filesystem::path> m_files;
};

/// Load and concatenate the files. Throws input_error when none is given.
[[nodiscard]] result_set load_results(const std::vector<std::filesystem::path>& files);

/// One `--where` term: COL=V1,V2 (the cell equals any value) or COL!=V1,V2 (equals none). Values
/// that both parse as numbers compare numerically (512 matches 512.0).
struct where_term {
  std::string column;
  std::vector<std::string> values;
  bool negate = false;
  std::string text;  ///< as given, for messages
};
/// Parse "COL=VALUE[,VALUE...]" or "COL!=VALUE[,...]"; throws input_error on other forms.
[[nodiscard]] where_term parse_where(std::string_view text);
/// Rows matching every term (terms on different columns AND, the values of one term OR). Throws
/// input_error naming the column when a term's column is absent, and naming the terms when no row is
/// left.
[[nodiscard]] result_set select_rows(const result_set& rows, const std::vector<where_term>& where);

/// A cell as a finite number ("" and text give nullopt).
[[nodiscard]] std::optional<double> parse_number(std::string_view text);
/// Two cells equal as numbers when both are numbers, else as text.
[[nodiscard]] bool cells_equal(std::string_view a, std::string_view b);
/// Orders cells numerically when both are numbers (numbers first), else as text.
[[nodiscard]] bool cell_less(std::string_view a, std::string_view b);
/// Median of the values (linear interpolation between the middle two); nullopt when empty.
[[nodiscard]] std::optional<double> median(std::vector<double> values);

}  // namespace sb::report
