#include "harness/report/tables/methods.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace sb::report {

const std::vector<std::string>& problem_axes() {
  static const std::vector<std::string> axes = {"k",     "seq_len", "causal", "dataset", "dtype",
                                                "device", "batch",  "heads",  "head_dim"};
  return axes;
}

std::string method::label() const {
  std::string s = variant;
  for (const auto& [name, value] : fields)
    if (!value.empty()) s += fmt::format(" {}={}", name, value);  // e.g. k of a variant without k
  return s;
}

std::string method::field(const std::string& name) const {
  for (const auto& [n, v] : fields)
    if (n == name) return v;
  return {};
}

std::map<std::string, std::string> row_params(const result_set& rows, std::size_t r) {
  std::map<std::string, std::string> out;
  if (const auto c = rows.find("params")) {
    std::string_view s = rows.cell(r, *c);
    while (!s.empty()) {
      const auto semi = s.find(';');
      const std::string_view part = s.substr(0, semi);
      const auto eq = part.find('=');
      if (eq != std::string_view::npos) out[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
      if (semi == std::string_view::npos) break;
      s.remove_prefix(semi + 1);
    }
    return out;
  }
  for (std::size_t c = 0; c < rows.columns().size(); ++c) {
    const auto& name = rows.columns()[c];
    if (name.starts_with("param_") && !rows.cell(r, c).empty()) out[name.substr(6)] = rows.cell(r, c);
  }
  return out;
}

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

/// Whether the column holds at least two different non-empty values.
bool varies(const result_set& rows, std::size_t column) {
  const std::string* first = nullptr;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& v = rows.cell(r, column);
    if (v.empty()) continue;
    if (!first) first = &v;
    else if (!cells_equal(v, *first)) return true;
  }
  return false;
}

}  // namespace

std::vector<method> group_methods(const result_set& rows, const grouping& g) {
  const std::size_t variant_col = rows.require("variant");
  const bool explicit_by = !g.by.empty();
  std::vector<std::string> axes;  // problem or --by columns to split by (explicit ones always shown)
  bool by_params = !explicit_by && g.split_params;
  if (explicit_by) {
    for (const auto& b : g.by) {
      if (b == "params") {
        by_params = true;
        continue;
      }
      if (b == "variant") continue;
      (void)rows.require(b);
      if (!contains(axes, b)) axes.push_back(b);
    }
  } else {
    for (const auto& a : problem_axes())
      if (rows.has_column(a) && !contains(g.exclude, a) && varies(rows, *rows.find(a))) axes.push_back(a);
  }
  std::vector<std::size_t> axis_cols;
  for (const auto& a : axes) axis_cols.push_back(rows.require(a));

  // Per variant: its rows' parameters, and the names whose values differ among them.
  std::vector<std::string> variant_order;
  std::vector<std::map<std::string, std::string>> row_param(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& v = rows.cell(r, variant_col);
    if (!contains(variant_order, v)) variant_order.push_back(v);
    row_param[r] = row_params(rows, r);
  }
  std::map<std::string, std::vector<std::string>> distinguishing;
  if (by_params) {
    for (const auto& v : variant_order) {
      std::map<std::string, std::set<std::string>> values;
      std::vector<std::size_t> mine;
      for (std::size_t r = 0; r < rows.size(); ++r)
        if (rows.cell(r, variant_col) == v) mine.push_back(r);
      std::set<std::string> names;
      for (std::size_t r : mine)
        for (const auto& [n, _] : row_param[r]) names.insert(n);
      for (const auto& n : names) {
        if (contains(g.exclude_params, n)) continue;
        std::set<std::string> seen;
        for (std::size_t r : mine) {
          auto it = row_param[r].find(n);
          seen.insert(it == row_param[r].end() ? std::string() : it->second);
        }
        if (seen.size() > 1) distinguishing[v].push_back(n);
      }
    }
  }

  std::vector<method> methods;
  std::map<std::vector<std::string>, std::size_t> index;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    method m;
    m.variant = rows.cell(r, variant_col);
    for (const auto& n : distinguishing[m.variant]) {
      auto it = row_param[r].find(n);
      m.fields.emplace_back(n, it == row_param[r].end() ? std::string() : it->second);
    }
    for (std::size_t i = 0; i < axes.size(); ++i) {
      const auto& value = rows.cell(r, axis_cols[i]);
      if (value.empty() && !explicit_by) continue;  // e.g. k of a variant that does not use k
      m.fields.emplace_back(axes[i], value);
    }
    std::vector<std::string> key = {m.variant};
    for (const auto& [n, v] : m.fields) {
      key.push_back(n);
      key.push_back(v);
    }
    auto [it, inserted] = index.emplace(key, methods.size());
    if (inserted) methods.push_back(std::move(m));
    methods[it->second].rows.push_back(r);
  }

  auto variant_rank = [&](const std::string& v) {
    return std::find(variant_order.begin(), variant_order.end(), v) - variant_order.begin();
  };
  std::stable_sort(methods.begin(), methods.end(), [&](const method& a, const method& b) {
    if (a.variant != b.variant) return variant_rank(a.variant) < variant_rank(b.variant);
    for (std::size_t i = 0; i < std::min(a.fields.size(), b.fields.size()); ++i) {
      if (a.fields[i].first != b.fields[i].first) return a.fields[i].first < b.fields[i].first;
      if (!cells_equal(a.fields[i].second, b.fields[i].second)) return cell_less(a.fields[i].second, b.fields[i].second);
    }
    return a.fields.size() < b.fields.size();
  });
  return methods;
}

std::vector<std::string> constant_fields(const result_set& rows, const std::vector<std::string>& columns) {
  std::vector<std::string> out;
  for (const auto& name : columns) {
    const auto c = rows.find(name);
    if (!c || rows.empty()) continue;
    std::set<std::string> values;
    for (std::size_t r = 0; r < rows.size(); ++r)
      if (!rows.cell(r, *c).empty()) values.insert(rows.cell(r, *c));
    if (values.size() == 1) out.push_back(fmt::format("{}={}", name, *values.begin()));
  }
  return out;
}

}  // namespace sb::report
