// Variant entries: look the name up in the registry, check every given value with the variant's
// schema (so messages name the parameter and its range), then expand list-valued parameters.
#include "harness/config/variant_entries.hpp"

#include <map>

#include <fmt/format.h>

namespace sb::config {
namespace {

using param_choices = std::vector<std::pair<std::string, std::vector<param_value>>>;

param_value to_param_value(const config_source& src, const nlohmann::json& v, const std::string& where) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>();
  src.fail(where, fmt::format("expected a number, boolean or string (or a list of them), got {} {}", type_name(v),
                              show(v)));
}

const attention_variant& find_variant(const config_source& src, const nlohmann::json& entry, const std::string& path) {
  if (!entry.contains("name"))
    src.fail(path, fmt::format("missing key 'name' (registered: {})", variant_registry::instance().names()));
  const std::string name = read_string(src, entry.at("name"), join_key(path, "name"));
  const attention_variant* v = variant_registry::instance().find(name);
  if (!v)
    src.fail(path, fmt::format("unknown variant '{}' (registered: {})", name, variant_registry::instance().names()));
  return *v;
}

/// Every parameter of the entry with its checked values (one value unless it is swept).
param_choices read_choices(const config_source& src, const attention_variant& variant, const nlohmann::json& entry,
                           const std::string& path) {
  const param_schema schema = variant.parameters();
  const std::string where = fmt::format("{}: {} ({})", src.name, path, variant.name());
  param_choices choices;
  for (const auto& [key, value] : entry.items()) {
    if (key == "name") continue;
    const std::string key_path = join_key(path, key);
    std::vector<param_value> values;
    for (const auto& element : as_list(src, value, key_path))
      values.push_back(schema.coerce(where, key, to_param_value(src, element, key_path)));
    choices.emplace_back(key, std::move(values));
  }
  return choices;
}

/// The cartesian product of the choices, the first parameter outermost.
std::vector<std::map<std::string, param_value>> combinations(const param_choices& choices) {
  std::vector<std::map<std::string, param_value>> out{{}};
  for (const auto& [key, values] : choices) {
    std::vector<std::map<std::string, param_value>> next;
    for (const auto& partial : out)
      for (const auto& v : values) {
        next.push_back(partial);
        next.back()[key] = v;
      }
    out = std::move(next);
  }
  return out;
}

}  // namespace

std::vector<variant_point> read_variant_entries(const config_source& src, const nlohmann::json& list,
                                                const std::string& path) {
  if (!list.is_array())
    src.fail(path, fmt::format("expected a list of variant tables ([[{}]]), got {}", path, type_name(list)));
  if (list.empty()) src.fail(path, "no variants listed: the sweep would expand to zero cases");
  std::vector<variant_point> points;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string entry_path = index_key(path, i);
    require_table(src, list[i], entry_path);
    const attention_variant& variant = find_variant(src, list[i], entry_path);
    const std::string where = fmt::format("{}: {} ({})", src.name, entry_path, variant.name());
    for (const auto& given : combinations(read_choices(src, variant, list[i], entry_path)))
      points.push_back({&variant, variant.parameters().resolve(where, given), entry_path});
  }
  return points;
}

}  // namespace sb::config
