// Option expansion and Philox normal draws shared by the dataset sources (see common.hpp).
#include "datasets/common.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <thread>

#include <fmt/format.h>

#include "harness/core/errors.hpp"
#include "harness/core/rng.hpp"

namespace sb::datasets {
namespace {

std::string where_of(std::string_view kind) { return fmt::format("dataset '{}'", kind); }

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// One JSON scalar as a param_value; arrays and objects are errors naming the key.
param_value scalar_of(const nlohmann::json& v, const std::string& where, const std::string& key, bool in_list) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>();
  throw config_error(fmt::format("{}: option '{}' {} a {}, which is not allowed here", where, key,
                                 in_list ? "lists" : "is", v.type_name()));
}

std::string known_names(const param_schema& schema) {
  std::string s = "kind";
  for (const auto& spec : schema.specs()) s += ", " + spec.name;
  return s;
}

/// Box–Muller on two raw 32-bit draws, exactly as counter_rng::normal().
double box_muller(std::uint32_t w1, std::uint32_t w2) {
  const double u1 = (static_cast<double>(w1) + 0.5) * (1.0 / 4294967296.0);
  const double u2 = (static_cast<double>(w2) + 0.5) * (1.0 / 4294967296.0);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

/// The Philox block holding draws 4c..4c+3 of (seed, stream): the normals of elements 2c and 2c+1.
philox_block block_at(std::uint64_t seed, std::uint64_t stream, std::uint64_t c) {
  return philox4x32({static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(c >> 32),
                     static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)},
                    {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
}

void fill_normal_serial(std::uint64_t seed, std::uint64_t stream, std::uint64_t first, float* out, std::size_t n,
                        double scale) {
  std::size_t i = 0;
  while (i < n) {
    const std::uint64_t e = first + i;
    const philox_block b = block_at(seed, stream, e >> 1);
    if ((e & 1) == 0) {
      out[i++] = static_cast<float>(scale * box_muller(b[0], b[1]));
      if (i < n) out[i++] = static_cast<float>(scale * box_muller(b[2], b[3]));
    } else {
      out[i++] = static_cast<float>(scale * box_muller(b[2], b[3]));
    }
  }
}

}  // namespace

void require_entry_object(const nlohmann::json& entry, std::string_view kind) {
  if (!entry.is_object())
    throw config_error(fmt::format("{}: the dataset entry must be a table, got a {}", where_of(kind),
                                   entry.type_name()));
  if (entry.contains("kind") && (!entry.at("kind").is_string() || entry.at("kind").get<std::string>() != kind))
    throw config_error(fmt::format("{}: entry has kind {}", where_of(kind), entry.at("kind").dump()));
}

std::vector<nlohmann::json> expand_options(const nlohmann::json& entry, std::string_view kind,
                                           const param_schema& schema, const std::vector<std::string>& sweepable) {
  require_entry_object(entry, kind);
  const std::string where = where_of(kind);
  // Each key's list of values (one value when not swept), in schema order.
  std::vector<std::pair<std::string, std::vector<param_value>>> axes;
  for (const auto& [key, value] : entry.items()) {
    if (key == "kind") continue;
    if (!schema.find(key))
      throw config_error(fmt::format("{}: unknown option '{}' (known options: {})", where, key, known_names(schema)));
  }
  for (const auto& spec : schema.specs()) {
    if (!entry.contains(spec.name)) continue;
    const auto& v = entry.at(spec.name);
    std::vector<param_value> values;
    if (v.is_array()) {
      if (!contains(sweepable, spec.name))
        throw config_error(fmt::format("{}: option '{}' cannot be a list (it is not swept)", where, spec.name));
      if (v.empty()) throw config_error(fmt::format("{}: option '{}' is an empty list", where, spec.name));
      for (const auto& x : v) values.push_back(schema.coerce(where, spec.name, scalar_of(x, where, spec.name, true)));
    } else {
      values.push_back(schema.coerce(where, spec.name, scalar_of(v, where, spec.name, false)));
    }
    axes.emplace_back(spec.name, std::move(values));
  }
  std::vector<nlohmann::json> out;
  std::vector<std::size_t> pos(axes.size(), 0);
  for (;;) {
    std::map<std::string, param_value> given;
    for (std::size_t a = 0; a < axes.size(); ++a) given[axes[a].first] = axes[a].second[pos[a]];
    nlohmann::json j = schema.resolve(where, given).to_json();
    j["kind"] = std::string(kind);
    out.push_back(std::move(j));
    // Odometer: the last axis varies fastest.
    std::size_t a = axes.size();
    while (a > 0 && ++pos[a - 1] == axes[a - 1].second.size()) pos[--a] = 0;
    if (a == 0) break;
  }
  return out;
}

param_set options_of(const nlohmann::json& options, std::string_view kind, const param_schema& schema) {
  require_entry_object(options, kind);
  const std::string where = where_of(kind);
  std::map<std::string, param_value> given;
  for (const auto& [key, value] : options.items())
    if (key != "kind") given[key] = scalar_of(value, where, key, false);
  return schema.resolve(where, given);
}

std::string non_default_suffix(const param_set& values, const param_schema& schema,
                               const std::vector<std::string>& skip) {
  std::string out;
  for (const auto& spec : schema.specs()) {
    if (contains(skip, spec.name) || !values.has(spec.name)) continue;
    const param_value& v = values.values().at(spec.name);
    const bool same = spec.type == param_type::real
                          ? values.get_real(spec.name) == std::get<double>(spec.default_value)
                          : v == spec.default_value;
    if (!same) out += fmt::format(":{}={}", spec.name, to_string(v));
  }
  return out;
}

double philox_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t e) {
  const counter_rng rng(seed, stream);
  return box_muller(rng.at(2 * e), rng.at(2 * e + 1));
}

void fill_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t first, std::span<float> out,
                 double scale) {
  constexpr std::size_t per_thread_min = std::size_t{1} << 18;
  const std::size_t n = out.size();
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t threads = std::min<std::size_t>(hw, std::max<std::size_t>(1, n / per_thread_min));
  if (threads <= 1) {
    fill_normal_serial(seed, stream, first, out.data(), n, scale);
    return;
  }
  // Counter-based draws: any split of the range gives the same numbers.
  std::vector<std::thread> pool;
  const std::size_t chunk = (n + threads - 1) / threads;
  for (std::size_t t = 0; t < threads; ++t) {
    const std::size_t begin = t * chunk, end = std::min(n, begin + chunk);
    if (begin >= end) break;
    pool.emplace_back(fill_normal_serial, seed, stream, first + begin, out.data() + begin, end - begin, scale);
  }
  for (auto& th : pool) th.join();
}

}  // namespace sb::datasets
