// The config loader's public API: a TOML sweep config (docs/config.md), with `--set` overrides
// applied, validated and expanded into the list of cases to run.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/case_spec.hpp"
#include "harness/core/measure_settings.hpp"

namespace sb {

/// A validated, expanded sweep config.
struct sweep_plan {
  std::filesystem::path config_path;   ///< the file it was read from; empty for text input
  std::string name, description;       ///< optional top-level keys
  measure_settings measure;            ///< from the optional [measure] table (defaults otherwise)
  std::vector<case_spec> cases;        ///< expanded, deduplicated by case_id(), in expansion order
  std::vector<std::string> sweep_names;  ///< the optional `name` of each sweep, by case_spec::sweep_index
};

/// Read a file, apply overrides ("dotted.key=value" strings, as given to --set), validate, expand.
/// Relative paths in the config are resolved against the file's directory. Every problem throws
/// sb::config_error naming the file, the key and what is allowed.
[[nodiscard]] sweep_plan load_sweep_plan(const std::filesystem::path& file,
                                         const std::vector<std::string>& overrides = {});

/// Same from text; config_dir resolves relative paths; source_name prefixes error messages.
[[nodiscard]] sweep_plan parse_sweep_plan(std::string_view toml_text, const std::filesystem::path& config_dir,
                                          const std::vector<std::string>& overrides, std::string_view source_name);

}  // namespace sb
