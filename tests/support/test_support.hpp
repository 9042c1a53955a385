// Helpers shared by the tests that drive the seabench binary: temporary folders, running commands,
// and reading a results CSV into rows keyed by column name.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness/report/csv_format.hpp"

namespace sb::test {

/// A fresh folder under the system temp dir, removed when the object dies.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "seabench-test-XXXXXX").string();
    m_path = mkdtemp(tmpl.data());
  }
  ~temp_dir() { std::filesystem::remove_all(m_path); }
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct command_result {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr together
};

/// Run a shell command, capturing stdout+stderr and the exit code.
inline command_result run_command(const std::string& cmd) {
  command_result r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), p)) r.output += buf.data();
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string seabench(const std::string& args) { return std::string(SEABENCH_BINARY) + " " + args; }

using csv_row = std::map<std::string, std::string>;

/// All data rows of a results CSV, keyed by header names.
inline std::vector<csv_row> read_csv_rows(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  std::vector<csv_row> rows;
  if (!std::getline(in, line)) return rows;
  const auto header = csv_split(line);
  while (std::getline(in, line)) {
    const auto cells = csv_split(line);
    csv_row row;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace sb::test
