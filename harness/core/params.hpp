// Variant parameters: a typed schema (name, type, default, range or choices, help) and the resolved
// set a case carries. The schema validates config values and `seabench list` prints it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace sb {

using param_value = std::variant<std::int64_t, double, bool, std::string>;

enum class param_type { integer, real, boolean, text };

[[nodiscard]] std::string to_string(const param_value& v);
[[nodiscard]] std::string_view to_string(param_type t);

struct param_spec {
  std::string name;
  param_type type = param_type::integer;
  param_value default_value;
  std::string help;
  std::optional<double> min;           ///< inclusive, for integer and real
  std::optional<double> max;           ///< inclusive, for integer and real
  std::vector<std::string> choices;    ///< allowed values for text, empty = any
};

/// Resolved parameters of one case: every schema entry present, validated.
class param_set {
 public:
  param_set() = default;
  explicit param_set(std::map<std::string, param_value> values) : m_values(std::move(values)) {}

  [[nodiscard]] std::int64_t get_int(const std::string& name) const;
  [[nodiscard]] double get_real(const std::string& name) const;  ///< accepts integer values too
  [[nodiscard]] bool get_bool(const std::string& name) const;
  [[nodiscard]] const std::string& get_text(const std::string& name) const;
  [[nodiscard]] bool has(const std::string& name) const { return m_values.count(name) != 0; }
  [[nodiscard]] const std::map<std::string, param_value>& values() const { return m_values; }
  void set(const std::string& name, param_value v) { m_values[name] = std::move(v); }

  /// "a=1;b=softmax" with names sorted: the `params` CSV cell and part of the case id.
  [[nodiscard]] std::string canonical() const;
  [[nodiscard]] nlohmann::json to_json() const;
  static param_set from_json(const nlohmann::json& j);

 private:
  std::map<std::string, param_value> m_values;
};

class param_schema {
 public:
  param_schema() = default;
  param_schema(std::initializer_list<param_spec> specs) : m_specs(specs) {}

  param_schema& add(param_spec spec) {
    m_specs.push_back(std::move(spec));
    return *this;
  }
  [[nodiscard]] const std::vector<param_spec>& specs() const { return m_specs; }
  [[nodiscard]] const param_spec* find(const std::string& name) const;

  /// Check one given value against its spec and convert it to the spec's type (an integer is
  /// accepted for a real). Throws sb::config_error naming `where`, the key and what is allowed.
  [[nodiscard]] param_value coerce(const std::string& where, const std::string& name,
                                   const param_value& given) const;
  /// Fill defaults for missing names, coerce and validate given ones; unknown names are errors.
  [[nodiscard]] param_set resolve(const std::string& where, const std::map<std::string, param_value>& given) const;

 private:
  std::vector<param_spec> m_specs;
};

}  // namespace sb
