#include "harness/report/results_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>  // libfccp needs it but does not include it
#include <stdexcept>

#include <fmt/format.h>
#include <libfccp/csv.h>

#include "harness/report/csv_format.hpp"

namespace sb {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail_errno(const std::string& what, const fs::path& p) {
  throw std::runtime_error(fmt::format("{} '{}': {}", what, p.string(), std::strerror(errno)));
}

/// Cut everything after the last '\n' (a row whose write was interrupted). Returns true if it cut.
bool cut_torn_tail(const fs::path& path) {
  const auto size = fs::file_size(path);
  if (size == 0) return false;
  std::ifstream in(path, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (content.back() == '\n') return false;
  const auto last_newline = content.rfind('\n');
  const std::uintmax_t keep = last_newline == std::string::npos ? 0 : last_newline + 1;
  fs::resize_file(path, keep);
  return true;
}

void write_all(int fd, const std::string& text, const fs::path& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("cannot write results file", path);
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

existing_results read_existing_results(const fs::path& path) {
  existing_results r;
  if (!fs::exists(path) || fs::file_size(path) == 0) return r;
  {
    // Validate every complete line before touching the file: a malformed row means this is not
    // (only) our output, and resuming into it could corrupt it.
    std::ifstream in(path);
    std::string first;
    std::getline(in, first);
    r.header = csv_split(first);
    if (std::find(r.header.begin(), r.header.end(), "case_id") == r.header.end())
      throw std::runtime_error(fmt::format("'{}' is not a seabench results file: its header has no case_id column",
                                           path.string()));
  }
  r.repaired_torn_line = cut_torn_tail(path);
  if (fs::file_size(path) == 0) {
    r.header.clear();
    return r;
  }
  try {
    io::CSVReader<1, io::trim_chars<>, io::double_quote_escape<',', '"'>> reader(path.string());
    reader.read_header(io::ignore_extra_column, "case_id");
    std::string id;
    while (reader.read_row(id)) {
      r.case_ids.insert(id);
      ++r.rows;
    }
  } catch (const io::error::base& e) {
    throw std::runtime_error(fmt::format("results file '{}' is malformed: {}", path.string(), e.what()));
  }
  // libfccp ignores extra cells but not missing ones; also reject rows with more cells than the header.
  std::ifstream in(path);
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (csv_split(line).size() != r.header.size())
      throw std::runtime_error(fmt::format("results file '{}' line {} has {} cells, its header has {}", path.string(),
                                           line_no, csv_split(line).size(), r.header.size()));
  }
  return r;
}

results_file::results_file(const fs::path& path, std::vector<std::string> columns, open_mode mode)
    : m_path(path), m_columns(std::move(columns)) {
  if (m_path.has_parent_path()) fs::create_directories(m_path.parent_path());
  const bool exists_nonempty = fs::exists(m_path) && fs::file_size(m_path) > 0;
  if (mode == open_mode::create && exists_nonempty)
    throw std::runtime_error(fmt::format("'{}' exists; pass --resume to continue it or --overwrite to replace it",
                                         m_path.string()));
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
  if (mode == open_mode::overwrite) flags |= O_TRUNC;
  if (mode == open_mode::resume) m_existing = read_existing_results(m_path);
  if (!m_existing.header.empty()) {
    for (const auto& c : m_columns) {
      if (std::find(m_existing.header.begin(), m_existing.header.end(), c) == m_existing.header.end())
        m_dropped.push_back(c);
    }
    m_columns = m_existing.header;
  }
  m_fd = ::open(m_path.c_str(), flags, 0644);
  if (m_fd < 0) fail_errno("cannot open results file", m_path);
  if (m_existing.header.empty()) {
    std::string header;
    for (std::size_t i = 0; i < m_columns.size(); ++i) header += (i ? "," : "") + m_columns[i];
    write_all(m_fd, header + "\n", m_path);
    ::fsync(m_fd);
  }
}

results_file::~results_file() {
  if (m_fd >= 0) ::close(m_fd);
}

void results_file::append(const nlohmann::json& row) {
  write_all(m_fd, csv_line(m_columns, row), m_path);  // one write: the line lands whole or torn, never interleaved
  if (::fsync(m_fd) != 0) fail_errno("cannot sync results file", m_path);
}

}  // namespace sb
