// The top level of a config: which of the two forms it uses ([sweep] + [[variant]], or [[sweep]]
// tables each with [[sweep.variant]]), then per-sweep reading and expansion, then dedupe.
#include "harness/config/sweep_plan.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "harness/config/config_values.hpp"
#include "harness/config/measure_table.hpp"
#include "harness/config/overrides.hpp"
#include "harness/config/sweep_axes.hpp"
#include "harness/config/sweep_expansion.hpp"
#include "harness/config/toml_reader.hpp"
#include "harness/config/variant_entries.hpp"
#include "harness/core/errors.hpp"

namespace sb {
namespace {

using config::config_source;
using nlohmann::json;

/// One sweep table with the variant list that belongs to it.
struct sweep_source {
  const json* table;
  std::string path;
  const json* variants;
  std::string variants_path;
  bool variants_inside;  ///< the [[sweep]] form: `variant` is a key of the sweep table
};

constexpr const char* form_hint = "use one [sweep] table with [[variant]] entries, or [[sweep]] tables each with "
                                  "[[sweep.variant]] entries";

std::vector<sweep_source> single_form(const config_source& src, const json& root) {
  const json& sweep = root.at("sweep");
  if (sweep.contains("variant"))
    src.fail("sweep.variant", fmt::format("[sweep] with [[sweep.variant]]: {}", form_hint));
  if (!root.contains("variant")) src.fail("", fmt::format("missing the variant list [[variant]] ({})", form_hint));
  return {{&sweep, "sweep", &root.at("variant"), "variant", false}};
}

std::vector<sweep_source> array_form(const config_source& src, const json& root) {
  const json& sweeps = root.at("sweep");
  if (root.contains("variant")) src.fail("variant", fmt::format("[[sweep]] with top-level [[variant]]: {}", form_hint));
  if (sweeps.empty()) src.fail("sweep", "empty list of sweeps: the config would expand to zero cases");
  std::vector<sweep_source> out;
  for (std::size_t i = 0; i < sweeps.size(); ++i) {
    const std::string path = config::index_key("sweep", i);
    config::require_table(src, sweeps[i], path);
    if (!sweeps[i].contains("variant"))
      src.fail(path, fmt::format("missing the variant list [[sweep.variant]] ({})", form_hint));
    out.push_back({&sweeps[i], path, &sweeps[i].at("variant"), config::join_key(path, "variant"), true});
  }
  return out;
}

std::vector<sweep_source> sweep_sources(const config_source& src, const json& root) {
  if (!root.contains("sweep")) src.fail("", fmt::format("missing the [sweep] table ({})", form_hint));
  const json& sweep = root.at("sweep");
  if (sweep.is_object()) return single_form(src, root);
  if (sweep.is_array()) return array_form(src, root);
  src.fail("sweep", fmt::format("expected a table, got {} ({})", config::type_name(sweep), form_hint));
}

std::string optional_string(const config_source& src, const json& root, const char* key) {
  return root.contains(key) ? config::read_string(src, root.at(key), key) : std::string{};
}

void expand_into(const config_source& src, const sweep_source& s, int index, sweep_plan& plan) {
  const std::vector<std::string> extra_keys = s.variants_inside ? std::vector<std::string>{"variant"}
                                                                 : std::vector<std::string>{};
  const auto axes = config::read_sweep_axes(src, *s.table, s.path, extra_keys);
  const auto variants = config::read_variant_entries(src, *s.variants, s.variants_path);
  auto cases = config::expand_sweep(src, axes, variants, plan.measure, index);
  plan.cases.insert(plan.cases.end(), std::make_move_iterator(cases.begin()), std::make_move_iterator(cases.end()));
  plan.sweep_names.push_back(axes.name);
}

}  // namespace

sweep_plan parse_sweep_plan(std::string_view toml_text, const std::filesystem::path& config_dir,
                            const std::vector<std::string>& overrides, std::string_view source_name) {
  const config_source src{std::string(source_name), config_dir};
  json root = config::read_toml(toml_text, source_name);
  config::apply_overrides(src, root, overrides);
  config::check_keys(src, root, "", {"name", "description", "measure", "sweep", "variant"});
  sweep_plan plan;
  plan.name = optional_string(src, root, "name");
  plan.description = optional_string(src, root, "description");
  if (root.contains("measure")) plan.measure = config::read_measure(src, root.at("measure"), "measure");
  const auto sources = sweep_sources(src, root);
  for (std::size_t i = 0; i < sources.size(); ++i) expand_into(src, sources[i], static_cast<int>(i), plan);
  plan.cases = config::dedupe_cases(std::move(plan.cases));
  return plan;
}

sweep_plan load_sweep_plan(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  if (std::filesystem::is_directory(file))
    throw config_error(fmt::format("{}: is a directory, not a config file", file.string()));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw config_error(fmt::format("{}: cannot open the config file", file.string()));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw config_error(fmt::format("{}: cannot read the config file", file.string()));
  // Absolute, so dataset paths resolved against it stay valid in workers with another working directory.
  const auto dir = std::filesystem::absolute(file).parent_path();
  sweep_plan plan = parse_sweep_plan(text.str(), dir, overrides, file.string());
  plan.config_path = file;
  return plan;
}

}  // namespace sb
