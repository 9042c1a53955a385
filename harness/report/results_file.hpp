// The results CSV on disk: created with a header, appended one flushed row per finished case, and
// reopened for --resume. After a kill at any moment the file holds one parseable row per finished
// case: a torn last line (no trailing newline) is cut off on reopen, never duplicated or merged.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sb {

enum class open_mode {
  create,     ///< refuse if the file exists and is non-empty
  overwrite,  ///< truncate an existing file
  resume,     ///< keep existing rows; the caller skips their case_ids
};

/// What an existing results file holds (read with libfccp).
struct existing_results {
  std::vector<std::string> header;
  std::set<std::string> case_ids;
  std::size_t rows = 0;
  bool repaired_torn_line = false;  ///< a partial last line was cut off
};

/// Read header and case_ids; cut a torn last line. Throws std::runtime_error naming the file and
/// line when a row is malformed (the file is then left untouched).
[[nodiscard]] existing_results read_existing_results(const std::filesystem::path& path);

class results_file {
 public:
  /// Opens (creating parent folders). With resume, rows are written in the existing header's column
  /// order and values for columns it lacks are dropped (listed by dropped_columns()).
  results_file(const std::filesystem::path& path, std::vector<std::string> columns, open_mode mode);
  results_file(const results_file&) = delete;
  results_file& operator=(const results_file&) = delete;
  ~results_file();

  /// Append one row and fsync it, so a finished case survives any later crash.
  void append(const nlohmann::json& row);

  [[nodiscard]] const existing_results& existing() const { return m_existing; }
  [[nodiscard]] const std::vector<std::string>& columns() const { return m_columns; }
  [[nodiscard]] const std::vector<std::string>& dropped_columns() const { return m_dropped; }
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
  std::vector<std::string> m_columns;
  std::vector<std::string> m_dropped;
  existing_results m_existing;
  int m_fd = -1;
};

}  // namespace sb
