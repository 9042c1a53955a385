// Applying `--set` overrides: parse "key=value", then walk the dotted key through tables and
// arrays of tables (by index, by `name`, or into every element).
#include "harness/config/overrides.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <span>

#include <fmt/format.h>

#include "harness/config/toml_reader.hpp"
#include "harness/core/errors.hpp"

namespace sb::config {
namespace {

struct override_spec {
  std::string text;                ///< as given, for messages
  std::vector<std::string> path;   ///< the dotted key, split
  nlohmann::json value;
};

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

/// Thrown for a walk that cannot go on; the caller adds the override text.
[[noreturn]] void walk_error(const std::string& message) { throw config_error(message); }

/// "a.b.c" → {"a", "b", "c"}; an empty component is an error.
std::vector<std::string> split_key(const config_source& src, const std::string& text, const std::string& key) {
  std::vector<std::string> path;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    path.push_back(trim(std::string_view(key).substr(start, dot == std::string::npos ? dot : dot - start)));
    if (path.back().empty()) src.fail("", fmt::format("--set '{}': empty component in key '{}'", text, key));
    if (dot == std::string::npos) return path;
    start = dot + 1;
  }
}

override_spec parse_override(const config_source& src, const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos) src.fail("", fmt::format("--set '{}': expected key=value", text));
  const std::string key = trim(std::string_view(text).substr(0, eq));
  if (key.empty()) src.fail("", fmt::format("--set '{}': empty key (expected key=value)", text));
  return {text, split_key(src, text, key), read_override_value(trim(std::string_view(text).substr(eq + 1)))};
}

bool is_index(const std::string& s) {
  const auto digit = [](unsigned char c) { return std::isdigit(c) != 0; };
  return !s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), digit);
}

std::size_t assign(nlohmann::json& node, std::span<const std::string> path, const nlohmann::json& value,
                   const std::string& where);

/// Apply `path` to every element. Elements it does not fit are skipped (so that
/// `sweep.variant.dense_stream.key_block=…` passes over the sweeps without dense_stream); when it
/// fits none, the first reason is the error.
std::size_t assign_to_each(nlohmann::json& array, std::span<const std::string> path, const nlohmann::json& value,
                           const std::string& where) {
  std::size_t count = 0;
  std::optional<std::string> first_error;
  for (std::size_t i = 0; i < array.size(); ++i) {
    try {
      count += assign(array[i], path, value, index_key(where, i));
    } catch (const config_error& e) {
      if (!first_error) first_error = e.what();
    }
  }
  if (count == 0 && first_error) walk_error(*first_error);
  return count;
}

/// `path` continues inside an array: select by index, by `name`, or apply to every element.
std::size_t assign_in_array(nlohmann::json& array, std::span<const std::string> path, const nlohmann::json& value,
                            const std::string& where) {
  if (!std::all_of(array.begin(), array.end(), [](const auto& e) { return e.is_object(); }))
    walk_error(fmt::format("'{}' is a list of values, not of tables", where));
  const std::string& head = path.front();
  if (is_index(head)) {
    const std::size_t i = std::stoul(head);
    if (i >= array.size()) return 0;
    if (path.size() == 1) walk_error(fmt::format("'{}' is a table: name a key inside it", index_key(where, i)));
    return assign(array[i], path.subspan(1), value, index_key(where, i));
  }
  std::size_t count = 0;
  bool named = false;
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (array[i].value("name", nlohmann::json()) != head) continue;
    if (path.size() == 1) walk_error(fmt::format("'{}.{}' selects tables: name a key inside them", where, head));
    named = true;
    count += assign(array[i], path.subspan(1), value, index_key(where, i));
  }
  if (named) return count;
  return assign_to_each(array, path, value, where);
}

std::size_t assign(nlohmann::json& node, std::span<const std::string> path, const nlohmann::json& value,
                   const std::string& where) {
  if (node.is_array()) return assign_in_array(node, path, value, where);
  if (!node.is_object())
    walk_error(fmt::format("'{}' is not a table (it holds {} {})", where, type_name(node), show(node)));
  const std::string& key = path.front();
  if (path.size() == 1) {
    node[key] = value;
    return 1;
  }
  if (!node.contains(key)) {
    // Only the two optional top-level tables may be created by an override.
    const bool creatable = where.empty() && path.size() == 2 && (key == "measure" || key == "sweep");
    if (!creatable) walk_error(fmt::format("there is no table '{}' in the config", join_key(where, key)));
    node[key] = nlohmann::json::object();
  }
  return assign(node[key], path.subspan(1), value, join_key(where, key));
}

}  // namespace

void apply_overrides(const config_source& src, nlohmann::json& root, const std::vector<std::string>& overrides) {
  for (const auto& text : overrides) {
    const override_spec spec = parse_override(src, text);
    std::size_t count = 0;
    try {
      count = assign(root, spec.path, spec.value, "");
    } catch (const config_error& e) {
      src.fail("", fmt::format("--set '{}': {}", spec.text, e.what()));
    }
    if (count == 0) src.fail("", fmt::format("--set '{}': the key matches nothing in the config", spec.text));
  }
}

}  // namespace sb::config
