#include "harness/report/tables/paper_tables.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "harness/report/csv_format.hpp"
#include "harness/report/tables/column_units.hpp"
#include "harness/report/tables/methods.hpp"

namespace sb::report {

namespace {

/// How a non-ok status reads in a cell; the first of several statuses in this order wins.
const std::vector<std::pair<std::string, std::string>>& status_texts() {
  static const std::vector<std::pair<std::string, std::string>> t = {
      {"oom", "OOM"}, {"timeout", "timeout"}, {"error", "error"}, {"unsupported", "n/a"}, {"skipped", "skipped"}};
  return t;
}

std::string status_text(const std::string& status) {
  for (const auto& [s, text] : status_texts())
    if (s == status) return text;
  return status.empty() ? std::string("?") : status;
}

/// Medians of one metric over a set of rows (seeds, repeats), and the statuses of the failed rows.
struct gathered {
  std::optional<double> v, lo, hi;
  std::map<std::string, int> failures;  ///< status → rows
  int ok_rows = 0;
  int rows = 0;
};

struct metric_columns {
  std::optional<std::size_t> value, lo, hi;
};

double row_divisor(const result_set& rows, std::size_t r, bool per_sample) {
  if (!per_sample) return 1.0;
  const auto b = rows.number(r, "batch");
  return b && *b > 0 ? *b : 1.0;
}

gathered gather(const result_set& rows, const std::vector<std::size_t>& idx, const metric_columns& m,
                bool per_sample) {
  gathered g;
  const std::size_t status_col = rows.require("status");
  std::vector<double> v, lo, hi;
  for (std::size_t r : idx) {
    ++g.rows;
    const auto& status = rows.cell(r, status_col);
    if (status != "ok") {
      ++g.failures[status];
      continue;
    }
    ++g.ok_rows;
    if (!m.value) continue;
    const auto x = rows.number(r, *m.value);
    if (!x) continue;
    const double div = row_divisor(rows, r, per_sample);
    v.push_back(*x / div);
    if (m.lo)
      if (auto y = rows.number(r, *m.lo)) lo.push_back(*y / div);
    if (m.hi)
      if (auto y = rows.number(r, *m.hi)) hi.push_back(*y / div);
  }
  g.v = median(v);
  if (lo.size() == v.size()) g.lo = median(lo);
  if (hi.size() == v.size()) g.hi = median(hi);
  return g;
}

std::string failure_text(const std::map<std::string, int>& failures) {
  for (const auto& [s, text] : status_texts())
    if (failures.count(s)) return text;
  return failures.empty() ? std::string() : status_text(failures.begin()->first);
}

table_cell to_cell(const gathered& g, double scale) {
  table_cell c;
  if (g.v) {
    c.value = *g.v * scale;
    if (g.lo) c.lo = *g.lo * scale;
    if (g.hi) c.hi = *g.hi * scale;
    if (!g.failures.empty()) {
      int n = 0;
      for (const auto& [_, k] : g.failures) n += k;
      c.note = fmt::format("+{} {}", n, failure_text(g.failures));
    }
  } else if (!g.failures.empty() && g.ok_rows == 0) {
    c.text = failure_text(g.failures);
  } else if (g.ok_rows > 0) {
    c.text = "n/m";  // ok rows without this value: not measured for the variant
  }
  return c;
}

double max_abs(const std::vector<gathered>& gs) {
  double m = 0;
  for (const auto& g : gs) {
    if (g.v) m = std::max(m, std::fabs(*g.v));
    if (g.hi) m = std::max(m, std::fabs(*g.hi));
  }
  return m;
}

/// ms, or µs when every value is below 1 ms.
column_display time_unit(double max_ms) {
  if (max_ms > 0 && max_ms < 1.0) return {"", "µs", 1000.0};
  return {"", "ms", 1.0};
}

std::vector<std::string> sorted_distinct(const result_set& rows, std::size_t col) {
  std::vector<std::string> out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& v = rows.cell(r, col);
    if (v.empty()) continue;
    if (std::none_of(out.begin(), out.end(), [&](const std::string& s) { return cells_equal(s, v); })) out.push_back(v);
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return cell_less(a, b); });
  return out;
}

const char* const notes_status =
    "OOM: out of memory; error/timeout: the case failed (see the `error` column); n/a: unsupported "
    "combination; n/m: not measured for this variant; blank: not in the results; +N OOM: N more rows of "
    "the cell (other seeds) failed.";

table figure_table(const result_set& rows, const std::vector<method>& methods, const std::vector<std::string>& ts,
                   std::size_t t_col, bool latency, bool per_sample) {
  metric_columns m;
  if (latency) {
    m.value = rows.require("latency_ms_median");
    m.lo = rows.find("latency_ms_p10");
    m.hi = rows.find("latency_ms_p90");
  } else {
    m.value = rows.require("peak_mem_bytes");
  }
  std::vector<std::vector<gathered>> cells;
  std::vector<gathered> all;
  for (const auto& meth : methods) {
    auto& line = cells.emplace_back();
    for (const auto& t : ts) {
      std::vector<std::size_t> idx;
      for (std::size_t r : meth.rows)
        if (cells_equal(rows.cell(r, t_col), t)) idx.push_back(r);
      line.push_back(gather(rows, idx, m, per_sample));
      all.push_back(line.back());
    }
  }
  const column_display unit = latency ? time_unit(max_abs(all)) : byte_unit(max_abs(all));
  table tb;
  const std::string per = per_sample ? " per sample" : "";
  tb.title = latency ? fmt::format("Median latency{} ({}), p10–p90 in brackets", per, unit.unit)
                     : fmt::format("Peak memory{} ({})", per, unit.unit);
  tb.header.push_back("method");
  for (const auto& t : ts) tb.header.push_back("T=" + t);
  tb.header.push_back(fmt::format("mean ({})", unit.unit));
  for (std::size_t i = 0; i < methods.size(); ++i) {
    auto& row = tb.rows.emplace_back();
    row.push_back({methods[i].label()});
    std::vector<double> vals;
    for (const auto& g : cells[i]) {
      row.push_back(to_cell(g, unit.scale));
      if (row.back().value) vals.push_back(*row.back().value);
    }
    table_cell mean;
    if (!vals.empty()) {
      double s = 0;
      for (double v : vals) s += v;
      mean.value = s / static_cast<double>(vals.size());
      if (vals.size() < ts.size()) mean.note = fmt::format("{}/{} T", vals.size(), ts.size());
    }
    row.push_back(mean);
  }
  tb.notes.push_back(std::string("Cells: median over the rows of a method at that T (seeds, repeats). mean: "
                                 "arithmetic mean over the T columns with a value; a/b T when only a of the b "
                                 "columns have one. ") + notes_status);
  return tb;
}

std::string param_of(const result_set& rows, std::size_t r, const std::string& name) {
  const auto p = row_params(rows, r);
  auto it = p.find(name);
  return it == p.end() ? std::string() : it->second;
}

table cost_table(const result_set& rows, bool per_sample, const std::vector<std::string>& by) {
  const std::size_t k_col = rows.require("k");
  metric_columns lat{rows.require("latency_ms_median"), rows.find("latency_ms_p10"), rows.find("latency_ms_p90")};
  metric_columns mem{rows.require("peak_mem_bytes"), std::nullopt, std::nullopt};
  struct acc_column {
    std::string name, header;
  };
  std::vector<acc_column> acc;
  for (const auto& [name, header] : std::vector<std::pair<std::string, std::string>>{
           {"rel_err", "rel_err"}, {"mass_recall", "mass_recall"}, {"keys_per_query", "keys/query"}}) {
    const auto c = rows.find(name);
    if (!c) continue;
    bool any = false;
    for (std::size_t r = 0; r < rows.size() && !any; ++r) any = rows.number(r, *c).has_value();
    if (any) acc.push_back({name, header});
  }

  grouping g;
  g.by = by;
  g.exclude = {"k"};
  g.exclude_params = {"K"};
  const auto methods = group_methods(rows, g);
  struct line {
    std::string label, k, K;
    gathered lat, mem;
    std::vector<gathered> acc;
  };
  std::vector<line> lines;
  for (const auto& meth : methods) {
    std::vector<std::pair<std::string, std::string>> keys;  // (k, K) in row order
    for (std::size_t r : meth.rows) {
      std::pair<std::string, std::string> key{rows.cell(r, k_col), param_of(rows, r, "K")};
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
      if (!cells_equal(a.first, b.first)) return cell_less(a.first, b.first);
      return cell_less(a.second, b.second);
    });
    for (const auto& [k, K] : keys) {
      std::vector<std::size_t> idx;
      for (std::size_t r : meth.rows)
        if (rows.cell(r, k_col) == k && param_of(rows, r, "K") == K) idx.push_back(r);
      line l{meth.label(), k, K, gather(rows, idx, lat, per_sample), gather(rows, idx, mem, per_sample), {}};
      for (const auto& a : acc) l.acc.push_back(gather(rows, idx, {rows.find(a.name), {}, {}}, false));
      lines.push_back(std::move(l));
    }
  }
  std::vector<gathered> lats, mems;
  for (const auto& l : lines) {
    lats.push_back(l.lat);
    mems.push_back(l.mem);
  }
  const auto tu = time_unit(max_abs(lats));
  const auto mu = byte_unit(max_abs(mems));
  table tb;
  const std::string per = per_sample ? " per sample" : "";
  tb.title = fmt::format("Cost points: latency{0} ({1}, median, p10–p90), peak memory{0} ({2}), accuracy against "
                         "exact attention",
                         per, tu.unit, mu.unit);
  tb.header = {"method", "k", "K", fmt::format("latency ({})", tu.unit), fmt::format("peak memory ({})", mu.unit)};
  for (const auto& a : acc) tb.header.push_back(a.header);
  for (const auto& l : lines) {
    auto& row = tb.rows.emplace_back();
    row.push_back({l.label});
    row.push_back({l.k});
    row.push_back({l.K});
    row.push_back(to_cell(l.lat, tu.scale));
    row.push_back(to_cell(l.mem, mu.scale));
    for (const auto& a : l.acc) row.push_back(to_cell(a, 1.0));
  }
  tb.notes.push_back(std::string("k: the shared budget axis (its meaning per variant: `seabench list`); K: SEA's "
                                 "compressed width. Accuracy: against the fp64 exact reference (results/SCHEMA.md). "
                                 "Cells: medians over the rows of a cost point (seeds). ") + notes_status);
  return tb;
}

table stages_table(const result_set& all_rows, bool per_sample, const std::vector<std::string>& by) {
  std::vector<std::size_t> stage_cols;
  std::optional<std::size_t> total_col;
  for (std::size_t c = 0; c < all_rows.columns().size(); ++c) {
    const auto& n = all_rows.columns()[c];
    if (!n.starts_with("sea_") || !n.ends_with("_ms")) continue;
    if (n == "sea_total_ms") total_col = c;
    else stage_cols.push_back(c);
  }
  if (stage_cols.empty())
    throw input_error(fmt::format("the stages layout needs SEA's per-stage columns (sea_estimate_ms, sea_topk_ms, "
                                  "sea_mask_ms, sea_attend_ms, sea_mix_ms): none is in {}",
                                  all_rows.file_list()));
  const std::size_t variant_col = all_rows.require("variant");
  std::vector<std::size_t> sea;
  for (std::size_t r = 0; r < all_rows.size(); ++r)
    if (all_rows.cell(r, variant_col) == "sea") sea.push_back(r);
  if (sea.empty())
    throw input_error(fmt::format("the stages layout shows SEA rows (variant=sea): the selection from {} has none",
                                  all_rows.file_list()));
  const result_set rows = all_rows.subset(sea);
  grouping g;
  g.by = by;
  const auto methods = group_methods(rows, g);

  std::vector<std::size_t> cols = stage_cols;
  if (total_col) cols.push_back(*total_col);
  const auto lat_col = rows.find("latency_ms_median");
  if (lat_col) cols.push_back(*lat_col);
  std::vector<std::vector<gathered>> cells;
  std::vector<gathered> all;
  for (const auto& m : methods) {
    auto& line = cells.emplace_back();
    for (std::size_t c : cols) {
      line.push_back(gather(rows, m.rows, {c, {}, {}}, per_sample));
      all.push_back(line.back());
    }
  }
  const auto tu = time_unit(max_abs(all));
  table tb;
  tb.title = fmt::format("SEA per-stage time{} ({}), median per call; share of the stage sum in brackets",
                         per_sample ? " per sample" : "", tu.unit);
  tb.header.push_back("method");
  for (std::size_t c : cols) {
    std::string n = rows.columns()[c];
    if (n.starts_with("sea_") && n.ends_with("_ms")) n = n.substr(4, n.size() - 7);
    else if (n == "latency_ms_median") n = "latency (harness)";
    tb.header.push_back(fmt::format("{} ({})", n, tu.unit));
  }
  for (std::size_t i = 0; i < methods.size(); ++i) {
    auto& row = tb.rows.emplace_back();
    row.push_back({methods[i].label()});
    double sum = 0;
    for (std::size_t j = 0; j < stage_cols.size(); ++j)
      if (cells[i][j].v) sum += *cells[i][j].v;
    for (std::size_t j = 0; j < cols.size(); ++j) {
      table_cell c = to_cell(cells[i][j], tu.scale);
      if (j < stage_cols.size() && c.value && sum > 0)
        c.note = fmt::format("{:.0f}%", 100.0 * *cells[i][j].v / sum);
      row.push_back(c);
    }
  }
  tb.notes.push_back(std::string("Stage timers inside SEA's run() (docs/sea.md); total: SEA's own timer around the "
                                 "stages; latency (harness): the harness's median wall time per call. ") +
                     notes_status);
  return tb;
}

std::string md_escape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else out += c;
  }
  return out;
}

std::string md_cell(const table_cell& c) {
  if (!c.value) return md_escape(c.text);
  std::string s = format_number(*c.value);
  if (c.lo && c.hi) s += fmt::format(" ({}–{})", format_number(*c.lo), format_number(*c.hi));
  if (!c.note.empty()) s += fmt::format(" ({})", c.note);
  return md_escape(s);
}

std::string number_text(double v) { return fmt::format("{}", v); }

}  // namespace

std::vector<std::string> environment_lines(const result_set& rows) {
  std::vector<std::string> out;
  auto distinct = [&](const std::string& col) {
    std::vector<std::string> vals;
    const auto c = rows.find(col);
    if (!c) return vals;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const auto& v = rows.cell(r, *c);
      if (!v.empty() && std::find(vals.begin(), vals.end(), v) == vals.end()) vals.push_back(v);
    }
    return vals;
  };
  auto add = [&](const std::string& label, const std::string& col) {
    auto vals = distinct(col);
    if (vals.empty()) return;
    std::string text = fmt::format("{}", fmt::join(vals.begin(), vals.begin() + std::min<std::size_t>(vals.size(), 4), ", "));
    if (vals.size() > 4) text += fmt::format(" (+{} more)", vals.size() - 4);
    out.push_back(fmt::format("{}: {}", label, text));
  };
  add("device", "device");
  add("device name", "device_name");
  add("host", "host");
  add("CPU", "cpu_model");
  for (const auto& c : rows.columns())
    if (c.find("driver") != std::string::npos || c.find("cuda") != std::string::npos) add(c, c);
  add("compiler", "compiler");
  add("build type", "build_type");
  add("seabench version", "seabench_version");
  add("commit", "git_sha");
  add("threads", "threads");
  add("dtype", "dtype");
  auto stamps = distinct("timestamp");
  if (!stamps.empty()) {
    std::sort(stamps.begin(), stamps.end());  // ISO 8601 UTC sorts as text
    out.push_back(stamps.size() == 1 ? fmt::format("rows written: {}", stamps.front())
                                     : fmt::format("rows written: {} … {}", stamps.front(), stamps.back()));
  }
  const auto runs = distinct("run_id");
  std::vector<std::string> files;
  for (const auto& f : rows.files()) files.push_back(f.string());
  out.push_back(fmt::format("rows: {} from {}{}", rows.size(), fmt::join(files, ", "),
                            runs.empty() ? "" : fmt::format(" ({} run{})", runs.size(), runs.size() == 1 ? "" : "s")));
  return out;
}

report_document build_report(const result_set& rows, const report_options& o) {
  (void)rows.require("variant");
  (void)rows.require("status");
  report_document doc;
  doc.environment = environment_lines(rows);
  const std::vector<std::string> shown = {"causal", "dataset", "batch", "heads", "head_dim", "dtype", "device"};
  auto constants = constant_fields(rows, shown);
  switch (o.layout) {
    case report_layout::figure: {
      const std::size_t t_col = rows.require("seq_len");
      if (o.metric != figure_metric::memory) (void)rows.require("latency_ms_median");
      if (o.metric != figure_metric::latency) (void)rows.require("peak_mem_bytes");
      grouping g;
      g.by = o.by;
      g.exclude = {"seq_len"};
      const auto methods = group_methods(rows, g);
      const auto ts = sorted_distinct(rows, t_col);
      doc.heading = "Latency and memory vs sequence length T";
      if (o.metric != figure_metric::memory)
        doc.tables.push_back(figure_table(rows, methods, ts, t_col, true, o.per_sample));
      if (o.metric != figure_metric::latency)
        doc.tables.push_back(figure_table(rows, methods, ts, t_col, false, o.per_sample));
      break;
    }
    case report_layout::cost:
      doc.heading = "Cost points";
      doc.tables.push_back(cost_table(rows, o.per_sample, o.by));
      break;
    case report_layout::stages:
      doc.heading = "SEA per-stage breakdown";
      doc.tables.push_back(stages_table(rows, o.per_sample, o.by));
      break;
  }
  if (!constants.empty()) doc.heading += fmt::format(" ({})", fmt::join(constants, ", "));
  if (!o.where.empty()) doc.environment.push_back(fmt::format("selection: --where {}", fmt::join(o.where, " --where ")));
  return doc;
}

std::string render_markdown(const report_document& doc) {
  std::string s = fmt::format("# {}\n\n", doc.heading);
  if (!doc.environment.empty()) {
    s += "Environment (from the rows):\n\n";
    for (const auto& e : doc.environment) s += fmt::format("- {}\n", md_escape(e));
    s += "\n";
  }
  for (const auto& t : doc.tables) {
    s += fmt::format("## {}\n\n", t.title);
    std::vector<std::string> header;
    for (const auto& h : t.header) header.push_back(md_escape(h));
    s += fmt::format("| {} |\n", fmt::join(header, " | "));
    std::vector<std::string> rule;
    for (std::size_t i = 0; i < t.header.size(); ++i) rule.push_back(i == 0 ? "---" : "---:");
    s += fmt::format("|{}|\n", fmt::join(rule, "|"));
    for (const auto& row : t.rows) {
      std::vector<std::string> cells;
      for (const auto& c : row) cells.push_back(md_cell(c));
      s += fmt::format("| {} |\n", fmt::join(cells, " | "));
    }
    s += "\n";
    for (const auto& n : t.notes) s += fmt::format("{}\n\n", n);
  }
  return s;
}

std::string render_csv(const report_document& doc) {
  // Union of the columns by name (a ranged column adds "<name> p10" and "<name> p90").
  std::vector<std::string> header = {"table"};
  auto add_col = [&](const std::string& c) {
    if (std::find(header.begin(), header.end(), c) == header.end()) header.push_back(c);
  };
  for (const auto& t : doc.tables)
    for (std::size_t i = 0; i < t.header.size(); ++i) {
      add_col(t.header[i]);
      const bool ranged = std::any_of(t.rows.begin(), t.rows.end(),
                                      [&](const auto& row) { return i < row.size() && row[i].lo && row[i].hi; });
      if (ranged) {
        add_col(t.header[i] + " p10");
        add_col(t.header[i] + " p90");
      }
    }
  std::string s;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (i) s += ',';
    s += csv_escape(header[i]);
  }
  s += "\n";
  for (const auto& t : doc.tables)
    for (const auto& row : t.rows) {
      std::map<std::string, std::string> cells = {{"table", t.title}};
      for (std::size_t i = 0; i < row.size() && i < t.header.size(); ++i) {
        const auto& c = row[i];
        cells[t.header[i]] = c.value ? number_text(*c.value) : c.text;
        if (c.lo) cells[t.header[i] + " p10"] = number_text(*c.lo);
        if (c.hi) cells[t.header[i] + " p90"] = number_text(*c.hi);
      }
      for (std::size_t i = 0; i < header.size(); ++i) {
        if (i) s += ',';
        s += csv_escape(cells[header[i]]);
      }
      s += "\n";
    }
  return s;
}

}  // namespace sb::report
