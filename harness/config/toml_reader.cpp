// TOML → JSON with toml++; the only file of the config loader that sees toml++ types.
#include "harness/config/toml_reader.hpp"

#include <string>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "harness/core/errors.hpp"

namespace sb::config {
namespace {

std::string location(std::string_view source_name, const toml::source_region& where) {
  return fmt::format("{}:{}:{}", source_name, where.begin.line, where.begin.column);
}

nlohmann::json convert(const toml::node& node, std::string_view source_name);

nlohmann::json convert_table(const toml::table& table, std::string_view source_name) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : table) out[std::string(key.str())] = convert(value, source_name);
  return out;
}

nlohmann::json convert_array(const toml::array& array, std::string_view source_name) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& value : array) out.push_back(convert(value, source_name));
  return out;
}

nlohmann::json convert(const toml::node& node, std::string_view source_name) {
  switch (node.type()) {
    case toml::node_type::table: return convert_table(*node.as_table(), source_name);
    case toml::node_type::array: return convert_array(*node.as_array(), source_name);
    case toml::node_type::string: return node.as_string()->get();
    case toml::node_type::integer: return node.as_integer()->get();
    case toml::node_type::floating_point: return node.as_floating_point()->get();
    case toml::node_type::boolean: return node.as_boolean()->get();
    default:
      throw config_error(fmt::format("{}: dates and times are not valid config values",
                                     location(source_name, node.source())));
  }
}

}  // namespace

nlohmann::json read_toml(std::string_view text, std::string_view source_name) {
  try {
    const toml::table table = toml::parse(text, source_name);
    return convert_table(table, source_name);
  } catch (const toml::parse_error& e) {
    throw config_error(fmt::format("{}: TOML syntax error: {}", location(source_name, e.source()), e.description()));
  }
}

nlohmann::json read_override_value(std::string_view text) {
  const std::string document = fmt::format("x = {}", text);
  try {
    const toml::table table = toml::parse(std::string_view(document), std::string_view("--set"));
    // "1\ny = 2" parses too, but is not one value: take it as text.
    if (table.size() == 1 && table.contains("x")) return convert(*table.get("x"), "--set");
  } catch (const toml::parse_error&) {
    // not a TOML value: the text itself is the value
  } catch (const config_error&) {
    // a date or time: keep the text as a string as well
  }
  return std::string(text);
}

}  // namespace sb::config
