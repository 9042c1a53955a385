// `seabench list`: every registered variant with its parameters, defaults and capabilities, and
// every dataset.
#include <cstdio>

#include <fmt/format.h>

#include "harness/cli/commands.hpp"
#include "harness/core/dataset.hpp"
#include "harness/core/variant.hpp"

namespace sb::cli {
namespace {

std::string capability_line(const capabilities& c) {
  std::vector<std::string> parts;
  if (c.non_causal) parts.emplace_back("non-causal");
  if (c.causal) parts.emplace_back("causal");
  std::vector<std::string> devices;
  if (c.cpu) devices.emplace_back("cpu");
  if (c.cuda) devices.emplace_back("cuda");
  std::vector<std::string_view> dtypes;
  for (dtype d : c.dtypes) dtypes.push_back(to_string(d));
  std::string line = fmt::format("{}; devices: {}; dtypes: {}", fmt::join(parts, ", "), fmt::join(devices, ", "),
                                 fmt::join(dtypes, ", "));
  if (c.exposes_support) line += "; exposes support";
  if (c.randomized) line += "; randomized (seeded)";
  if (!c.reference_variant.empty()) line += "; CPU reference: " + c.reference_variant;
  return line;
}

}  // namespace

int list_command() {
  std::printf("Variants\n========\n");
  for (const attention_variant* v : variant_registry::instance().all()) {
    const capabilities c = v->caps();
    std::printf("\n%.*s: %.*s\n", static_cast<int>(v->name().size()), v->name().data(),
                static_cast<int>(v->description().size()), v->description().data());
    std::printf("  capabilities: %s\n", capability_line(c).c_str());
    if (c.uses_k == k_usage::none) std::printf("  k: not used (not expanded over the k axis)\n");
    else std::printf("  k: %s (%s)\n", std::string(to_string(c.uses_k)).c_str(), c.k_meaning.c_str());
    const param_schema schema = v->parameters();  // keep the temporary alive for the loop
    for (const auto& p : schema.specs()) {
      std::string range;
      if (p.min || p.max)
        range = fmt::format(" [{} .. {}]", p.min ? fmt::format("{}", *p.min) : "", p.max ? fmt::format("{}", *p.max) : "");
      if (!p.choices.empty()) range = fmt::format(" {{{}}}", fmt::join(p.choices, "|"));
      std::printf("  %s (%s, default %s)%s: %s\n", p.name.c_str(), std::string(to_string(p.type)).c_str(),
                  to_string(p.default_value).c_str(), range.c_str(), p.help.c_str());
    }
    const auto extras = v->extra_columns();
    if (!extras.empty()) std::printf("  extra columns: %s\n", fmt::format("{}", fmt::join(extras, ", ")).c_str());
  }
  std::printf("\nDatasets\n========\n");
  for (const dataset_source* d : dataset_registry::instance().all())
    std::printf("  %.*s: %.*s\n", static_cast<int>(d->name().size()), d->name().data(),
                static_cast<int>(d->description().size()), d->description().data());
  return exit_ok;
}

}  // namespace sb::cli
