#include "harness/model/eval_config.hpp"

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
#include "harness/model/opt_model.hpp"

namespace sb::model {
namespace {

namespace fs = std::filesystem;
using config::config_source;
using nlohmann::json;

/// Sweep axes the [model] table decides; the sweep may not set them.
const std::vector<std::string> fixed_axes = {"seq_len", "heads", "head_dim", "batch", "causal", "dtype", "dataset"};

std::string resolve_path(const config_source& src, const json& value, const std::string& key) {
  fs::path p = config::read_string(src, value, key);
  if (p.empty()) src.fail(key, "must not be empty");
  if (p.is_relative()) p = src.dir / p;
  return fs::absolute(p).lexically_normal().string();
}

model_section read_model_table(const config_source& src, const json& t) {
  config::require_table(src, t, "model");
  config::check_keys(src, t, "model", {"checkpoint", "text", "tokens", "seq_len", "window", "max_windows", "layers"});
  model_section m;
  for (const char* key : {"checkpoint", "text"})
    if (!t.contains(key)) src.fail(fmt::format("model.{}", key), "is required");
  m.checkpoint = resolve_path(src, t.at("checkpoint"), "model.checkpoint");
  m.text = resolve_path(src, t.at("text"), "model.text");
  if (t.contains("tokens")) {
    m.tokens = config::read_string(src, t.at("tokens"), "model.tokens");
    if (m.tokens != "byte+4" && m.tokens != "npy")
      src.fail("model.tokens", fmt::format("\"{}\" is not allowed (allowed: \"byte+4\", \"npy\")", m.tokens));
  }
  if (t.contains("seq_len") && t.contains("window")) src.fail("model.window", "give seq_len or window, not both");
  const char* len_key = t.contains("window") ? "window" : "seq_len";
  if (!t.contains(len_key)) src.fail("model.seq_len", "is required (the window length T)");
  m.seq_len = static_cast<int>(config::read_integer(src, t.at(len_key), fmt::format("model.{}", len_key), 2, 1 << 24));
  if (t.contains("max_windows"))
    m.max_windows = static_cast<int>(config::read_integer(src, t.at("max_windows"), "model.max_windows", 0, 1 << 30));
  if (t.contains("layers")) {
    const json& l = t.at("layers");
    if (!l.is_array() || l.empty()) src.fail("model.layers", "must be a non-empty list of layer indices");
    for (std::size_t i = 0; i < l.size(); ++i)
      m.layers.push_back(static_cast<int>(config::read_integer(src, l[i], config::index_key("model.layers", i), 0, 1 << 20)));
  }
  if (!fs::exists(m.text)) src.fail("model.text", fmt::format("'{}' does not exist", m.text));
  return m;
}

}  // namespace

model_eval_plan parse_model_eval_plan(std::string_view toml_text, const fs::path& config_dir,
                                      const std::vector<std::string>& overrides, std::string_view source_name) {
  const config_source src{std::string(source_name), config_dir};
  json root = config::read_toml(toml_text, source_name);
  config::apply_overrides(src, root, overrides);
  config::check_keys(src, root, "", {"name", "description", "measure", "model", "sweep", "variant"});
  if (!root.contains("model")) src.fail("", "missing the [model] table (checkpoint, text, seq_len, ...)");
  model_eval_plan plan;
  plan.model = read_model_table(src, root.at("model"));
  try {
    plan.checkpoint_config = load_opt_config(plan.model.checkpoint);
  } catch (const data_error& e) {
    src.fail("model.checkpoint", e.what());
  }
  const opt_config& c = plan.checkpoint_config;
  for (int l : plan.model.layers)
    if (l >= c.num_layers)
      src.fail("model.layers", fmt::format("layer {} does not exist: the checkpoint has layers 0 .. {}", l, c.num_layers - 1));
  if (plan.model.seq_len > c.max_positions)
    src.fail("model.seq_len", fmt::format("{} exceeds the checkpoint's max_position_embeddings = {}", plan.model.seq_len,
                                          c.max_positions));

  plan.sweep.name = root.contains("name") ? config::read_string(src, root.at("name"), "name") : "";
  plan.sweep.description =
      root.contains("description") ? config::read_string(src, root.at("description"), "description") : "";
  if (root.contains("measure")) plan.sweep.measure = config::read_measure(src, root.at("measure"), "measure");
  json sweep = root.contains("sweep") ? root.at("sweep") : json::object();
  if (!sweep.is_object())
    src.fail("sweep", "model-eval takes one [sweep] table (k, seeds) with a [[variant]] list; [[sweep]] is not supported");
  for (const auto& key : fixed_axes)
    if (sweep.contains(key))
      src.fail(fmt::format("sweep.{}", key), "is set by the [model] table (window length, the checkpoint's heads and "
                                             "head_dim, causal fp32); remove it");
  if (!root.contains("variant")) src.fail("", "missing the variant list [[variant]]");
  sweep["seq_len"] = plan.model.seq_len;
  sweep["heads"] = c.num_heads;
  sweep["head_dim"] = c.head_dim();
  sweep["causal"] = true;
  sweep["dtype"] = "fp32";
  sweep["dataset"] = "gaussian";  // placeholder for expansion; replaced by the model's identity below
  const auto axes = config::read_sweep_axes(src, sweep, "sweep", {});
  const auto variants = config::read_variant_entries(src, root.at("variant"), "variant");
  auto cases = config::expand_sweep(src, axes, variants, plan.sweep.measure, 0);
  // The model, text and window protocol are part of each case's identity (so --resume and case_id
  // tell different models or texts apart).
  json identity = {{"kind", "model_eval"},
                   {"checkpoint", plan.model.checkpoint},
                   {"text", plan.model.text},
                   {"tokens", plan.model.tokens},
                   {"max_windows", plan.model.max_windows},
                   {"layers", plan.model.layers}};
  for (auto& cs : cases) {
    cs.dataset = identity;
    cs.dataset_label = fmt::format("text:{}", fs::path(plan.model.text).filename().string());
  }
  plan.sweep.cases = config::dedupe_cases(std::move(cases));
  plan.sweep.sweep_names.push_back(axes.name);
  return plan;
}

model_eval_plan load_model_eval_plan(const fs::path& file, const std::vector<std::string>& overrides) {
  if (fs::is_directory(file)) throw config_error(fmt::format("{}: is a directory, not a config file", file.string()));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw config_error(fmt::format("{}: cannot open the config file", file.string()));
  std::ostringstream text;
  text << in.rdbuf();
  model_eval_plan plan =
      parse_model_eval_plan(text.str(), fs::absolute(file).parent_path(), overrides, file.string());
  plan.sweep.config_path = file;
  return plan;
}

}  // namespace sb::model
