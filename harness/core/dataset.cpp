#include "harness/core/dataset.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "harness/core/variant.hpp"  // SB_CONCAT

namespace sb {

dataset_registry& dataset_registry::instance() {
  static dataset_registry registry;
  return registry;
}

bool dataset_registry::add(std::unique_ptr<dataset_source> d) {
  if (find(d->name())) {
    std::fprintf(stderr, "seabench: two datasets registered under the name '%.*s'\n",
                 static_cast<int>(d->name().size()), d->name().data());
    std::abort();
  }
  m_sources.push_back(std::move(d));
  return true;
}

const dataset_source* dataset_registry::find(std::string_view name) const {
  for (const auto& d : m_sources)
    if (d->name() == name) return d.get();
  return nullptr;
}

std::vector<const dataset_source*> dataset_registry::all() const {
  std::vector<const dataset_source*> out;
  for (const auto& d : m_sources) out.push_back(d.get());
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name() < b->name(); });
  return out;
}

std::string dataset_registry::names() const {
  std::vector<std::string_view> n;
  for (auto* d : all()) n.push_back(d->name());
  return fmt::format("{}", fmt::join(n, ", "));
}

}  // namespace sb
