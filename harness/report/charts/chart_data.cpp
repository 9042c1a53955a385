#include "harness/report/charts/chart_data.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "harness/report/tables/methods.hpp"

namespace sb::report {

chart_preset parse_preset(const std::string& name) {
  if (name == "memory-vs-T") return chart_preset::memory_vs_T;
  if (name == "latency-vs-T") return chart_preset::latency_vs_T;
  if (name == "accuracy-vs-k") return chart_preset::accuracy_vs_k;
  if (name == "tradeoff") return chart_preset::tradeoff;
  throw input_error(
      fmt::format("unknown preset '{}' (allowed: memory-vs-T, latency-vs-T, accuracy-vs-k, tradeoff)", name));
}

namespace {

std::string capitalised(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

bool is_failure(const std::string& status) { return status == "oom" || status == "error" || status == "timeout"; }

std::string failure_label(const std::string& status) { return status == "oom" ? "OOM" : status; }

}  // namespace

chart_spec resolve_spec(const chart_request& r) {
  chart_spec s;
  bool logx = false, logy = false;
  std::string title;
  switch (r.preset) {
    case chart_preset::memory_vs_T:
      s.x = "seq_len";
      s.y = "peak_mem_bytes";
      logx = logy = true;
      title = "Peak memory vs sequence length";
      break;
    case chart_preset::latency_vs_T:
      s.x = "seq_len";
      s.y = "latency_ms_median";
      logx = logy = true;
      title = "Latency vs sequence length";
      break;
    case chart_preset::accuracy_vs_k:
      s.x = "k";
      s.y = "rel_err";
      logx = true;
      title = "Accuracy vs budget k";
      break;
    case chart_preset::tradeoff:
      s.x = "latency_ms_median";
      s.y = "rel_err";
      logx = true;
      s.scatter = true;
      title = "Accuracy–cost trade-off";
      break;
    case chart_preset::none:
      break;
  }
  const bool moved = (!r.x.empty() && r.x != s.x) || (!r.y.empty() && r.y != s.y);
  if (!r.x.empty()) s.x = r.x;
  if (!r.y.empty()) s.y = r.y;
  if (s.x.empty() || s.y.empty())
    throw input_error("give a --preset (memory-vs-T, latency-vs-T, accuracy-vs-k, tradeoff) or both --x and --y");
  if (r.preset == chart_preset::accuracy_vs_k || r.preset == chart_preset::tradeoff) logy = is_error_column(s.y);
  if (r.preset == chart_preset::none || moved) {
    // Columns changed from the preset's: derive the title, keep log axes only for what the preset meant.
    if (r.preset == chart_preset::none) logx = logy = false;
    if (r.preset != chart_preset::tradeoff)
      title = capitalised(describe_column(s.y).name + " vs " + describe_column(s.x).name);
    else
      title = capitalised(describe_column(s.y).name + " vs " + describe_column(s.x).name + " trade-off");
  }
  s.logx = r.logx.value_or(logx);
  s.logy = r.logy.value_or(logy);
  s.title = r.title.empty() ? title : r.title;
  s.by = r.by;
  s.scatter = s.scatter || r.scatter;
  s.extrapolate = r.extrapolate;
  return s;
}

namespace {

struct raw_failure {
  std::optional<double> x;
  std::string status;
  std::string detail;
};

struct raw_line {
  std::string label;
  std::vector<chart_point> points;  // raw units, sorted by x
  std::optional<double> constant_y;
  std::vector<raw_failure> failures;
};

/// The counts of rows a line could not draw, turned into notes.
struct skipped_rows {
  std::map<std::string, int> by_status;  // unsupported, skipped, ...
  int ok_without_y = 0;
  int ok_without_x = 0;
  int not_positive = 0;
};

void add_notes(std::vector<std::string>& notes, const std::string& label, const skipped_rows& s,
               const chart_spec& spec) {
  for (const auto& [status, n] : s.by_status)
    notes.push_back(fmt::format("{}: {} row{} with status '{}' not drawn", label, n, n == 1 ? "" : "s",
                                status.empty() ? "(empty)" : status));
  if (s.ok_without_y)
    notes.push_back(fmt::format("{}: {} ok row{} without a value for {} (not measured for this variant) not drawn",
                                label, s.ok_without_y, s.ok_without_y == 1 ? "" : "s", spec.y));
  if (s.ok_without_x)
    notes.push_back(fmt::format("{}: {} ok row{} without a value for {} not drawn (its other rows have one)", label,
                                s.ok_without_x, s.ok_without_x == 1 ? "" : "s", spec.x));
  if (s.not_positive)
    notes.push_back(fmt::format("{}: {} row{} with a value <= 0 cannot be drawn on the log axis", label,
                                s.not_positive, s.not_positive == 1 ? "" : "s"));
}

/// The median point of a group of rows for a scatter, or its failures.
void scatter_line(const result_set& rows, const std::vector<std::size_t>& idx, const chart_spec& spec,
                  raw_line& line, skipped_rows& skipped) {
  const result_set sub = rows.subset(idx);
  grouping fine;
  fine.exclude = {spec.x, spec.y};
  for (const auto& m : group_methods(sub, fine)) {
    std::string point_label;
    for (const auto& [n, v] : m.fields) point_label += fmt::format("{}{}={}", point_label.empty() ? "" : " ", n, v);
    std::vector<double> xs, ys, failed_xs;
    std::set<std::string> failed;
    for (std::size_t r : m.rows) {
      const auto& status = sub.cell(r, "status");
      const auto x = sub.number(r, spec.x);
      const auto y = sub.number(r, spec.y);
      if (status == "ok") {
        if (!y) ++skipped.ok_without_y;
        else if (!x) ++skipped.ok_without_x;
        else if ((spec.logx && *x <= 0) || (spec.logy && *y <= 0)) ++skipped.not_positive;
        else {
          xs.push_back(*x);
          ys.push_back(*y);
        }
      } else if (is_failure(status)) {
        failed.insert(status);
        if (x) failed_xs.push_back(*x);
      } else {
        ++skipped.by_status[status];
      }
    }
    if (!xs.empty()) line.points.push_back({*median(xs), *median(ys), point_label});
    else
      for (const auto& st : failed)
        line.failures.push_back({median(failed_xs), st, line.label + (point_label.empty() ? "" : " " + point_label)});
  }
  std::sort(line.points.begin(), line.points.end(), [](const auto& a, const auto& b) { return a.x < b.x; });
}

void xy_line(const result_set& rows, const std::vector<std::size_t>& idx, const chart_spec& spec, raw_line& line,
             skipped_rows& skipped) {
  const std::size_t xc = rows.require(spec.x);
  const std::size_t yc = rows.require(spec.y);
  const std::size_t sc = rows.require("status");
  std::map<double, std::vector<double>> ys;
  std::map<double, std::set<std::string>> failed;
  std::vector<double> without_x;
  std::set<std::string> failed_without_x;
  for (std::size_t r : idx) {
    const auto& status = rows.cell(r, sc);
    const auto x = rows.number(r, xc);
    const auto y = rows.number(r, yc);
    if (status == "ok") {
      if (!y) ++skipped.ok_without_y;
      else if ((spec.logy && *y <= 0) || (x && spec.logx && *x <= 0)) ++skipped.not_positive;
      else if (!x) without_x.push_back(*y);
      else ys[*x].push_back(*y);
    } else if (is_failure(status)) {
      if (x) failed[*x].insert(status);
      else failed_without_x.insert(status);
    } else {
      ++skipped.by_status[status];
    }
  }
  for (auto& [x, v] : ys) line.points.push_back({x, *median(v), ""});
  for (const auto& [x, sts] : failed)
    for (const auto& st : sts) line.failures.push_back({x, st, fmt::format("{} {}={}", line.label, spec.x, x)});
  for (const auto& st : failed_without_x) line.failures.push_back({std::nullopt, st, line.label});
  if (!without_x.empty()) {
    if (line.points.empty()) line.constant_y = median(without_x);
    else skipped.ok_without_x += static_cast<int>(without_x.size());
  }
}

/// Transformed coordinate for range arithmetic.
double fwd(double v, bool log) { return log ? std::log(v) : v; }
double inv(double t, bool log) { return log ? std::exp(t) : t; }

std::pair<double, double> padded_range(const std::vector<double>& vals, bool log, double pad) {
  if (vals.empty()) return log ? std::pair{1.0, 10.0} : std::pair{0.0, 1.0};
  const auto [mn, mx] = std::minmax_element(vals.begin(), vals.end());
  double lo = fwd(*mn, log), hi = fwd(*mx, log);
  double span = hi - lo;
  if (span <= 0) span = log ? std::log(4.0) : (std::fabs(hi) > 0 ? std::fabs(hi) : 1.0);
  return {inv(lo - pad * span, log), inv(hi + pad * span, log)};
}

}  // namespace

chart_data build_chart(const result_set& rows, const chart_spec& spec) {
  (void)rows.require("variant");
  (void)rows.require("status");
  (void)rows.require(spec.x);
  (void)rows.require(spec.y);
  chart_data d;
  d.title = spec.title;
  d.logx = spec.logx;
  d.logy = spec.logy;
  d.logx_base = is_error_column(spec.x) ? 10 : 2;
  d.logy_base = is_error_column(spec.y) ? 10 : 2;
  d.scatter = spec.scatter;

  grouping g;
  g.by = spec.by;
  g.exclude = {spec.x, spec.y};
  if (spec.scatter) {
    g.split_params = false;
    g.exclude.push_back("k");  // a cost knob: the points of a trade-off line
  }
  std::vector<raw_line> raw;
  for (const auto& m : group_methods(rows, g)) {
    raw_line line;
    line.label = m.label();
    skipped_rows skipped;
    if (spec.scatter) scatter_line(rows, m.rows, spec, line, skipped);
    else xy_line(rows, m.rows, spec, line, skipped);
    add_notes(d.notes, line.label, skipped, spec);
    if (line.points.empty() && !line.constant_y && line.failures.empty()) continue;
    raw.push_back(std::move(line));
  }
  if (raw.empty())
    throw input_error(fmt::format("nothing to plot: no selected row of {} has a value for {} (and none failed)",
                                  rows.file_list(), spec.y));

  // Display units from the largest magnitudes.
  double max_x = 0, max_y = 0;
  for (const auto& l : raw) {
    for (const auto& p : l.points) {
      max_x = std::max(max_x, std::fabs(p.x));
      max_y = std::max(max_y, std::fabs(p.y));
    }
    if (l.constant_y) max_y = std::max(max_y, std::fabs(*l.constant_y));
    for (const auto& f : l.failures)
      if (f.x) max_x = std::max(max_x, std::fabs(*f.x));
  }
  d.xaxis = describe_column(spec.x, max_x);
  d.yaxis = describe_column(spec.y, max_y);

  // Explicit ticks for a few distinct integer x values (T, k).
  std::set<double> distinct_x;
  bool integral = true;
  for (const auto& l : raw) {
    for (const auto& p : l.points) distinct_x.insert(p.x);
    for (const auto& f : l.failures)
      if (f.x) distinct_x.insert(*f.x);
  }
  for (double x : distinct_x) integral = integral && x == std::floor(x);
  if (integral && !distinct_x.empty() && distinct_x.size() <= 16 && d.xaxis.scale == 1.0)
    d.xtics.assign(distinct_x.begin(), distinct_x.end());

  std::map<double, int> stack_at;  // markers already placed at an x
  std::vector<double> xs, ys;
  for (auto& l : raw) {
    chart_line out;
    out.label = l.label;
    if (l.constant_y) {
      out.constant_y = *l.constant_y * d.yaxis.scale;
      ys.push_back(*out.constant_y);
    }
    std::set<double> ok_x;
    for (const auto& p : l.points) ok_x.insert(p.x);
    std::vector<double> fail_x;  // failures with no ok value at their x: the line stops there
    std::vector<double> oom_x;   // of those, out of memory: where an extrapolation may continue
    for (const auto& f : l.failures) {
      chart_failure cf{f.x ? std::optional<double>(*f.x * d.xaxis.scale) : std::nullopt, failure_label(f.status),
                       f.detail};
      if (cf.x) {
        cf.stack = stack_at[*cf.x]++;
        xs.push_back(*cf.x);
        if (!ok_x.count(*f.x)) {
          fail_x.push_back(*f.x);
          if (f.status == "oom") oom_x.push_back(*f.x);
        }
      }
      out.failures.push_back(cf);
    }
    std::vector<chart_point> seg;
    for (std::size_t i = 0; i < l.points.size(); ++i) {
      const auto& p = l.points[i];
      if (i > 0 && !spec.scatter) {
        const double prev = l.points[i - 1].x;
        const bool broken = std::any_of(fail_x.begin(), fail_x.end(), [&](double fx) { return fx > prev && fx < p.x; });
        if (broken) out.segments.push_back(std::exchange(seg, {}));
      }
      seg.push_back({p.x * d.xaxis.scale, p.y * d.yaxis.scale, p.label});
      xs.push_back(seg.back().x);
      ys.push_back(seg.back().y);
    }
    if (!seg.empty()) out.segments.push_back(std::move(seg));

    // Dotted continuation through the x's where the line ran out of memory after its last point.
    if (spec.extrapolate && !spec.scatter && !out.segments.empty() && out.segments.back().size() >= 2) {
      const auto& last = out.segments.back();
      const auto& a = last[last.size() - 2];
      const auto& b = last.back();
      std::vector<double> beyond;
      for (double fx : oom_x)
        if (fx * d.xaxis.scale > b.x) beyond.push_back(fx * d.xaxis.scale);
      std::sort(beyond.begin(), beyond.end());
      if (!beyond.empty() && fwd(b.x, d.logx) != fwd(a.x, d.logx)) {
        const double slope = (fwd(b.y, d.logy) - fwd(a.y, d.logy)) / (fwd(b.x, d.logx) - fwd(a.x, d.logx));
        out.extrapolated.push_back(b);
        for (double x : beyond)
          out.extrapolated.push_back({x, inv(fwd(b.y, d.logy) + slope * (fwd(x, d.logx) - fwd(b.x, d.logx)), d.logy), ""});
      }
    }
    d.lines.push_back(std::move(out));
  }

  int max_stack = 0;
  for (const auto& [_, n] : stack_at) max_stack = std::max(max_stack, n);
  std::tie(d.xmin, d.xmax) = padded_range(xs, d.logx, 0.06);
  if (xs.empty() && d.logx) std::tie(d.xmin, d.xmax) = std::pair{1.0, 2.0};
  std::tie(d.ymin, d.ymax) = padded_range(ys, d.logy, 0.05);
  if (max_stack > 0) {
    d.marker_band = std::min(0.5, 0.08 + 0.06 * (max_stack - 1));
    const double lo = fwd(d.ymin, d.logy), hi = fwd(d.ymax, d.logy);
    d.ymax = inv(lo + (hi - lo) / (1.0 - d.marker_band), d.logy);
  }
  // Subtitle: what is the same for every row.
  std::vector<std::string> cols = {"causal", "dataset", "seq_len", "k",     "batch",
                                   "heads",  "head_dim", "dtype",  "device", "device_name"};
  cols.erase(std::remove_if(cols.begin(), cols.end(), [&](const std::string& c) { return c == spec.x || c == spec.y; }),
             cols.end());
  for (const auto& part : constant_fields(rows, cols)) {  // wrapped at about 70 characters a line
    const auto line_start = d.subtitle.rfind('\n');
    const std::size_t line_len = d.subtitle.size() - (line_start == std::string::npos ? 0 : line_start + 1);
    if (!d.subtitle.empty()) d.subtitle += line_len + part.size() + 2 > 70 ? ",\n" : ", ";
    d.subtitle += part;
  }
  return d;
}

}  // namespace sb::report
