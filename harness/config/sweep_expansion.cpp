// Sweep expansion as a chain of cartesian products over problem fields, then over variants and
// datasets; ids are computed by case_spec, so dedupe is by what actually identifies a case.
#include "harness/config/sweep_expansion.hpp"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include <fmt/format.h>

namespace sb::config {
namespace {

/// Every problem of `in` combined with every value (the new axis varies fastest).
template <class T, class Set>
std::vector<problem> extend(const std::vector<problem>& in, const std::vector<T>& values, Set set) {
  std::vector<problem> out;
  out.reserve(in.size() * values.size());
  for (const auto& p : in)
    for (const T v : values) {
      out.push_back(p);
      set(out.back(), v);
    }
  return out;
}

/// The problem axes in order; `ks` is {nullopt} for variants that ignore k.
std::vector<problem> problems(const sweep_axes& a, const std::vector<std::optional<int>>& ks) {
  std::vector<problem> ps{problem{}};
  ps = extend(ps, a.seq_len, [](problem& p, int v) { p.seq_len = v; });
  ps = extend(ps, ks, [](problem& p, std::optional<int> v) { p.k = v; });
  ps = extend(ps, a.causal, [](problem& p, bool v) { p.causal = v; });
  ps = extend(ps, a.batch, [](problem& p, int v) { p.batch = v; });
  ps = extend(ps, a.heads, [](problem& p, int v) { p.heads = v; });
  ps = extend(ps, a.head_dim, [](problem& p, int v) { p.head_dim = v; });
  ps = extend(ps, a.dtypes, [](problem& p, dtype v) { p.type = v; });
  ps = extend(ps, a.seeds, [](problem& p, std::uint64_t v) { p.seed = v; });
  return ps;
}

void require_k(const config_source& src, const sweep_axes& axes, const variant_point& v) {
  const k_usage usage = v.variant->caps().uses_k;
  if (usage == k_usage::none || !axes.k.empty()) return;
  src.fail(v.path, fmt::format("variant '{}' uses k ({}), but the sweep has no '{}'", v.variant->name(),
                               to_string(usage), join_key(axes.path, "k")));
}

bool uses_k(const variant_point& v) { return v.variant->caps().uses_k != k_usage::none; }

/// Each dataset against each problem some variant will get, once (not once per variant).
void check_datasets(const config_source& src, const sweep_axes& axes, const std::vector<problem>& probs) {
  for (const auto& d : axes.datasets)
    for (const auto& p : probs) check_dataset_serves(src, d, p);
}

}  // namespace

std::vector<case_spec> expand_sweep(const config_source& src, const sweep_axes& axes,
                                    const std::vector<variant_point>& variants, const measure_settings& measure,
                                    int sweep_index) {
  std::vector<std::optional<int>> ks(axes.k.begin(), axes.k.end());
  const std::vector<problem> with_k = problems(axes, ks);
  const std::vector<problem> without_k = problems(axes, {std::nullopt});
  for (const auto& v : variants) require_k(src, axes, v);
  if (std::any_of(variants.begin(), variants.end(), uses_k)) check_datasets(src, axes, with_k);
  if (!std::all_of(variants.begin(), variants.end(), uses_k)) check_datasets(src, axes, without_k);
  std::vector<case_spec> cases;
  for (const auto& v : variants) {
    const auto& probs = uses_k(v) ? with_k : without_k;
    for (const auto& d : axes.datasets)
      for (const auto& p : probs)
        cases.push_back({.variant = std::string(v.variant->name()), .params = v.params, .prob = p,
                         .dataset = d.options, .dataset_label = d.label, .measure = measure,
                         .sweep_index = sweep_index});
  }
  if (cases.empty()) src.fail(axes.path, "the sweep expands to zero cases");
  return cases;
}

std::vector<case_spec> dedupe_cases(std::vector<case_spec> cases) {
  std::unordered_set<std::string> seen;
  std::vector<case_spec> out;
  out.reserve(cases.size());
  for (auto& c : cases)
    if (seen.insert(c.case_id()).second) out.push_back(std::move(c));
  return out;
}

}  // namespace sb::config
