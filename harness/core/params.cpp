#include "harness/core/params.hpp"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/core/errors.hpp"

namespace sb {

std::string to_string(const param_value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::string>) return x;
        else return fmt::format("{}", x);
      },
      v);
}

std::string_view to_string(param_type t) {
  switch (t) {
    case param_type::integer: return "int";
    case param_type::real: return "float";
    case param_type::boolean: return "bool";
    case param_type::text: return "string";
  }
  return "?";
}

namespace {
[[noreturn]] void missing(const std::string& name) {
  throw std::logic_error(fmt::format("parameter '{}' is not in the resolved parameter set", name));
}
}  // namespace

std::int64_t param_set::get_int(const std::string& name) const {
  auto it = m_values.find(name);
  if (it == m_values.end()) missing(name);
  if (auto p = std::get_if<std::int64_t>(&it->second)) return *p;
  throw std::logic_error(fmt::format("parameter '{}' is not an integer", name));
}
double param_set::get_real(const std::string& name) const {
  auto it = m_values.find(name);
  if (it == m_values.end()) missing(name);
  if (auto p = std::get_if<double>(&it->second)) return *p;
  if (auto p = std::get_if<std::int64_t>(&it->second)) return static_cast<double>(*p);
  throw std::logic_error(fmt::format("parameter '{}' is not a number", name));
}
bool param_set::get_bool(const std::string& name) const {
  auto it = m_values.find(name);
  if (it == m_values.end()) missing(name);
  if (auto p = std::get_if<bool>(&it->second)) return *p;
  throw std::logic_error(fmt::format("parameter '{}' is not a boolean", name));
}
const std::string& param_set::get_text(const std::string& name) const {
  auto it = m_values.find(name);
  if (it == m_values.end()) missing(name);
  if (auto p = std::get_if<std::string>(&it->second)) return *p;
  throw std::logic_error(fmt::format("parameter '{}' is not a string", name));
}

std::string param_set::canonical() const {
  std::string out;
  for (const auto& [name, value] : m_values) {
    if (!out.empty()) out += ';';
    out += name + "=" + to_string(value);
  }
  return out;
}

nlohmann::json param_set::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : m_values) std::visit([&](const auto& x) { j[name] = x; }, value);
  return j;
}

param_set param_set::from_json(const nlohmann::json& j) {
  std::map<std::string, param_value> values;
  for (const auto& [name, v] : j.items()) {
    if (v.is_boolean()) values[name] = v.get<bool>();
    else if (v.is_number_integer()) values[name] = v.get<std::int64_t>();
    else if (v.is_number()) values[name] = v.get<double>();
    else if (v.is_string()) values[name] = v.get<std::string>();
    else throw std::invalid_argument(fmt::format("parameter '{}' has an unsupported JSON type", name));
  }
  return param_set(std::move(values));
}

const param_spec* param_schema::find(const std::string& name) const {
  for (const auto& s : m_specs)
    if (s.name == name) return &s;
  return nullptr;
}

param_value param_schema::coerce(const std::string& where, const std::string& name,
                                 const param_value& given) const {
  const param_spec* spec = find(name);
  if (!spec) {
    std::string known;
    for (const auto& s : m_specs) known += (known.empty() ? "" : ", ") + s.name;
    throw config_error(fmt::format("{}: unknown parameter '{}' (known parameters: {})", where, name,
                                   known.empty() ? "none" : known));
  }
  auto type_error = [&] {
    return config_error(fmt::format("{}: parameter '{}' must be of type {}, got '{}'", where, name,
                                    to_string(spec->type), to_string(given)));
  };
  param_value value;
  switch (spec->type) {
    case param_type::integer:
      if (auto p = std::get_if<std::int64_t>(&given)) value = *p;
      else if (auto d = std::get_if<double>(&given); d && std::floor(*d) == *d) value = static_cast<std::int64_t>(*d);
      else throw type_error();
      break;
    case param_type::real:
      if (auto p = std::get_if<double>(&given)) value = *p;
      else if (auto i = std::get_if<std::int64_t>(&given)) value = static_cast<double>(*i);
      else throw type_error();
      break;
    case param_type::boolean:
      if (auto p = std::get_if<bool>(&given)) value = *p;
      else throw type_error();
      break;
    case param_type::text:
      if (auto p = std::get_if<std::string>(&given)) value = *p;
      else throw type_error();
      break;
  }
  if (spec->type == param_type::integer || spec->type == param_type::real) {
    const double x = spec->type == param_type::integer ? static_cast<double>(std::get<std::int64_t>(value))
                                                       : std::get<double>(value);
    const bool below = spec->min && x < *spec->min;
    const bool above = spec->max && x > *spec->max;
    if (below || above || !std::isfinite(x)) {
      throw config_error(fmt::format("{}: parameter '{}' = {} is out of range (allowed: {} .. {})", where, name,
                                     to_string(value), spec->min ? fmt::format("{}", *spec->min) : "-inf",
                                     spec->max ? fmt::format("{}", *spec->max) : "inf"));
    }
  }
  if (spec->type == param_type::text && !spec->choices.empty()) {
    const auto& s = std::get<std::string>(value);
    bool ok = false;
    for (const auto& c : spec->choices) ok = ok || c == s;
    if (!ok)
      throw config_error(fmt::format("{}: parameter '{}' = '{}' is not allowed (allowed: {})", where, name, s,
                                     fmt::join(spec->choices, ", ")));
  }
  return value;
}

param_set param_schema::resolve(const std::string& where, const std::map<std::string, param_value>& given) const {
  std::map<std::string, param_value> values;
  for (const auto& [name, v] : given) values[name] = coerce(where, name, v);
  for (const auto& s : m_specs)
    if (!values.count(s.name)) values[s.name] = s.default_value;
  return param_set(std::move(values));
}

}  // namespace sb
