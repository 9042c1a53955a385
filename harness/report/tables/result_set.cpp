#include "harness/report/tables/result_set.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "harness/report/csv_format.hpp"

namespace sb::report {
namespace fs = std::filesystem;

namespace {
const std::string empty_cell;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

bool result_set::has_column(std::string_view name) const { return find(name).has_value(); }

std::optional<std::size_t> result_set::find(std::string_view name) const {
  for (std::size_t i = 0; i < m_columns.size(); ++i)
    if (m_columns[i] == name) return i;
  // A variant parameter by its own name: K → param_K.
  for (std::size_t i = 0; i < m_columns.size(); ++i)
    if (m_columns[i].starts_with("param_") && std::string_view(m_columns[i]).substr(6) == name) return i;
  return std::nullopt;
}

std::size_t result_set::require(std::string_view name) const {
  if (auto i = find(name)) return *i;
  throw input_error(fmt::format("column '{}' is not in {} (it has {} columns: {})", name, file_list(),
                                m_columns.size(), fmt::join(m_columns, ", ")));
}

const std::string& result_set::cell(std::size_t r, std::size_t c) const {
  const auto& row = m_rows[r];
  return c < row.size() ? row[c] : empty_cell;
}

const std::string& result_set::cell(std::size_t r, std::string_view name) const {
  const auto c = find(name);
  return c ? cell(r, *c) : empty_cell;
}

std::optional<double> result_set::number(std::size_t r, std::size_t c) const { return parse_number(cell(r, c)); }

std::optional<double> result_set::number(std::size_t r, std::string_view name) const {
  return parse_number(cell(r, name));
}

std::string result_set::file_list() const {
  std::vector<std::string> names;
  for (const auto& f : m_files) names.push_back(f.string());
  if (names.empty()) return "the results";
  return fmt::format("{}", fmt::join(names, ", "));
}

std::size_t result_set::column_slot(const std::string& name) {
  for (std::size_t i = 0; i < m_columns.size(); ++i)
    if (m_columns[i] == name) return i;  // exact names only: no param_ fallback when merging headers
  m_columns.push_back(name);
  return m_columns.size() - 1;
}

void result_set::append(const fs::path& label, const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> slot;
  for (const auto& h : header) {
    if (std::count(header.begin(), header.end(), h) > 1)
      throw input_error(fmt::format("{}: column '{}' appears twice in the header", label.string(), h));
    slot.push_back(column_slot(h));
  }
  m_files.push_back(label);
  for (const auto& cells : rows) {
    std::vector<std::string> row(m_columns.size());
    for (std::size_t i = 0; i < cells.size() && i < slot.size(); ++i) row[slot[i]] = cells[i];
    m_rows.push_back(std::move(row));
    m_row_file.push_back(m_files.size() - 1);
  }
}

void result_set::append_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw input_error(fmt::format("cannot read results file {}: {}", file.string(), std::strerror(errno)));
  if (fs::is_directory(file)) throw input_error(fmt::format("cannot read results file {}: it is a directory", file.string()));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw input_error(fmt::format("cannot read results file {}: read error", file.string()));

  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const bool complete = nl != std::string::npos;
    const std::string_view line(text.data() + pos, (complete ? nl : text.size()) - pos);
    pos = complete ? nl + 1 : text.size();
    ++line_no;
    if (trim(line).empty() || line == "\r") continue;
    auto cells = csv_split(line);
    if (header.empty()) {
      header = std::move(cells);
      for (const auto& h : header)
        if (trim(h).empty())
          throw input_error(fmt::format("{}:{}: not a results CSV header (an empty column name)", file.string(), line_no));
      continue;
    }
    if (cells.size() != header.size()) {
      if (!complete) {
        std::fprintf(stderr, "seabench: %s:%zu: ignoring an incomplete last line (%zu of %zu cells; a sweep still "
                     "writing?)\n", file.c_str(), line_no, cells.size(), header.size());
        continue;
      }
      throw input_error(fmt::format("{}:{}: row has {} cells, the header has {}", file.string(), line_no, cells.size(),
                                    header.size()));
    }
    rows.push_back(std::move(cells));
  }
  if (header.empty()) throw input_error(fmt::format("results file {} is empty (no header line)", file.string()));
  append(file, header, rows);
}

result_set result_set::subset(const std::vector<std::size_t>& keep) const {
  result_set out;
  out.m_columns = m_columns;
  out.m_files = m_files;
  for (std::size_t r : keep) {
    out.m_rows.push_back(m_rows[r]);
    out.m_row_file.push_back(m_row_file[r]);
  }
  return out;
}

result_set load_results(const std::vector<fs::path>& files) {
  if (files.empty()) throw input_error("no results file given");
  result_set rows;
  for (const auto& f : files) rows.append_file(f);
  return rows;
}

where_term parse_where(std::string_view text) {
  where_term t;
  t.text = std::string(text);
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw input_error(fmt::format("--where '{}': expected COLUMN=VALUE[,VALUE...] or COLUMN!=VALUE[,VALUE...]", text));
  std::string_view column = text.substr(0, eq);
  if (column.back() == '!') {
    t.negate = true;
    column.remove_suffix(1);
  }
  column = trim(column);
  if (column.empty()) throw input_error(fmt::format("--where '{}': the column name is empty", text));
  t.column = std::string(column);
  std::string_view rest = text.substr(eq + 1);
  // Values are split on commas; a value that itself holds a comma cannot be selected (none of the
  // harness's own columns do; `params` joins with ';').
  while (true) {
    const auto comma = rest.find(',');
    t.values.emplace_back(trim(rest.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return t;
}

result_set select_rows(const result_set& rows, const std::vector<where_term>& where) {
  std::vector<std::size_t> cols;
  for (const auto& t : where) {
    const auto c = rows.find(t.column);
    if (!c)
      throw input_error(fmt::format("--where {}: column '{}' is not in {} (columns: {})", t.text, t.column,
                                    rows.file_list(), fmt::join(rows.columns(), ", ")));
    cols.push_back(*c);
  }
  std::vector<std::size_t> keep;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    bool ok = true;
    for (std::size_t i = 0; i < where.size() && ok; ++i) {
      const auto& cell = rows.cell(r, cols[i]);
      const bool any = std::any_of(where[i].values.begin(), where[i].values.end(),
                                   [&](const std::string& v) { return cells_equal(cell, v); });
      ok = where[i].negate ? !any : any;
    }
    if (ok) keep.push_back(r);
  }
  if (keep.empty()) {
    std::vector<std::string> terms;
    for (const auto& t : where) terms.push_back(t.text);
    if (where.empty()) throw input_error(fmt::format("no rows in {}", rows.file_list()));
    std::string hint;
    for (std::size_t i = 0; i < where.size(); ++i) {
      std::vector<std::string> seen;
      for (std::size_t r = 0; r < rows.size() && seen.size() < 12; ++r) {
        const auto& v = rows.cell(r, cols[i]);
        if (std::find(seen.begin(), seen.end(), v) == seen.end()) seen.push_back(v);
      }
      hint += fmt::format("; '{}' holds: {}", where[i].column, fmt::join(seen, ", "));
    }
    throw input_error(fmt::format("empty selection: no row of {} ({} rows) matches --where {}{}", rows.file_list(),
                                  rows.size(), fmt::join(terms, " --where "), hint));
  }
  return rows.subset(keep);
}

std::optional<double> parse_number(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  if (text.front() == '+') text.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool cells_equal(std::string_view a, std::string_view b) {
  const auto x = parse_number(a);
  const auto y = parse_number(b);
  if (x && y) return *x == *y;
  return trim(a) == trim(b);
}

bool cell_less(std::string_view a, std::string_view b) {
  const auto x = parse_number(a);
  const auto y = parse_number(b);
  if (x && y) return *x < *y;
  if (x != y) return x.has_value();  // numbers before text
  return a < b;
}

std::optional<double> median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace sb::report
