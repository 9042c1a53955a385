#include "harness/core/variant.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "harness/core/errors.hpp"

namespace sb {

std::string_view to_string(k_usage u) {
  switch (u) {
    case k_usage::none: return "none";
    case k_usage::keys_per_query: return "keys_per_query";
    case k_usage::bucket_size: return "bucket_size";
    case k_usage::grouped_per_query: return "grouped_per_query";
  }
  return "?";
}

double dense_equivalent_flops(const problem& p) {
  const double t = p.seq_len;
  const double f = 4.0 * p.batch * p.heads * t * t * p.head_dim;
  return p.causal ? f / 2 : f;
}

void require_cpu_fp32(std::string_view variant, const problem& p) {
  if (p.type != dtype::fp32)
    throw unsupported_case(
        fmt::format("{} on the CPU computes in fp32 only; dtype {} runs on CUDA", variant, to_string(p.type)));
}

std::optional<std::string> unsupported_reason(const attention_variant& v, const problem& p,
                                              const param_set& params, device_kind device) {
  const capabilities c = v.caps();
  if (p.causal && !c.causal) return fmt::format("{} does not support causal attention", v.name());
  if (!p.causal && !c.non_causal) return fmt::format("{} supports causal attention only", v.name());
  if (device == device_kind::cpu && !c.cpu) return fmt::format("{} has no CPU implementation", v.name());
  if (device == device_kind::cuda && !c.cuda) return fmt::format("{} has no CUDA implementation", v.name());
  if (std::find(c.dtypes.begin(), c.dtypes.end(), p.type) == c.dtypes.end()) {
    std::vector<std::string_view> names;
    for (dtype d : c.dtypes) names.push_back(to_string(d));
    return fmt::format("{} does not support dtype {} (supported: {})", v.name(), to_string(p.type),
                       fmt::join(names, ", "));
  }
  if (c.uses_k != k_usage::none && !p.k) return fmt::format("{} needs a value of k", v.name());
  return v.check(p, params);
}

variant_registry& variant_registry::instance() {
  static variant_registry registry;
  return registry;
}

bool variant_registry::add(std::unique_ptr<attention_variant> v) {
  if (find(v->name())) {
    std::fprintf(stderr, "seabench: two variants registered under the name '%.*s'\n",
                 static_cast<int>(v->name().size()), v->name().data());
    std::abort();
  }
  m_variants.push_back(std::move(v));
  return true;
}

const attention_variant* variant_registry::find(std::string_view name) const {
  for (const auto& v : m_variants)
    if (v->name() == name) return v.get();
  return nullptr;
}

std::vector<const attention_variant*> variant_registry::all() const {
  std::vector<const attention_variant*> out;
  for (const auto& v : m_variants) out.push_back(v.get());
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name() < b->name(); });
  return out;
}

std::string variant_registry::names() const {
  std::vector<std::string_view> n;
  for (auto* v : all()) n.push_back(v->name());
  return fmt::format("{}", fmt::join(n, ", "));
}

}  // namespace sb
