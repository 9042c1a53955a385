// model: real Q, K, V captured from an OPT checkpoint (harness/model/) running on a text, so the
// attention-level sweep sees a trained model's attention. Options: checkpoint (folder with
// config.json + model.safetensors), text (token file), tokens ("byte+4" raw bytes or "npy" ids),
// layer (an int or a list: swept), and which window: window_index (window i = tokens i·T .. i·T+T−1,
// default 0) or offset (the first token). The problem's seq_len is the window length; heads and
// head_dim must be the checkpoint's; batch 1. Queries are unscaled (the harness convention).
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "harness/core/dataset.hpp"
#include "harness/core/errors.hpp"
#include "harness/model/opt_model.hpp"

namespace sb {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view where = "dataset 'model'";

std::int64_t integer_option(const nlohmann::json& v, const std::string& what) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  throw config_error(fmt::format("{}: {} must be an integer, got {}", where, what, v.dump()));
}

std::string path_option(const nlohmann::json& entry, const char* key, const fs::path& config_dir) {
  if (!entry.contains(key) || !entry.at(key).is_string() || entry.at(key).get<std::string>().empty())
    throw config_error(fmt::format("{}: option '{}' (a path) is required", where, key));
  fs::path p = entry.at(key).get<std::string>();
  if (p.is_relative()) p = config_dir / p;
  return fs::absolute(p).lexically_normal().string();
}

/// heads, head_dim and layer count from config.json (cheap: no weights read).
struct checkpoint_shape {
  int heads = 0, head_dim = 0, layers = 0;
};
checkpoint_shape read_shape(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "config.json");
  if (!in) throw data_error(fmt::format("OPT checkpoint: cannot open '{}'", (fs::path(dir) / "config.json").string()));
  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(in);
    checkpoint_shape s;
    s.heads = cfg.at("num_attention_heads").get<int>();
    s.head_dim = cfg.at("hidden_size").get<int>() / std::max(1, s.heads);
    s.layers = cfg.at("num_hidden_layers").get<int>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw data_error(fmt::format("OPT checkpoint '{}': config.json: {}", dir, e.what()));
  }
}

std::int64_t first_token(const nlohmann::json& o, int seq_len) {
  if (o.contains("offset")) return o.at("offset").get<std::int64_t>();
  return o.at("window_index").get<std::int64_t>() * seq_len;
}

class model_dataset final : public dataset_source {
 public:
  std::string_view name() const override { return "model"; }
  std::string_view description() const override {
    return "real Q, K, V captured from an OPT checkpoint running on a text; options checkpoint, text, tokens "
           "(byte+4 | npy), layer (swept), window_index or offset";
  }

  std::vector<nlohmann::json> expand(const nlohmann::json& entry, const fs::path& config_dir) const override {
    if (!entry.is_object()) throw config_error(fmt::format("{}: expected a table of options", where));
    for (const auto& [key, value] : entry.items())
      if (key != "kind" && key != "checkpoint" && key != "text" && key != "tokens" && key != "layer" &&
          key != "window_index" && key != "offset")
        throw config_error(fmt::format(
            "{}: unknown option '{}' (known options: kind, checkpoint, text, tokens, layer, window_index, offset)", where,
            key));
    const std::string checkpoint = path_option(entry, "checkpoint", config_dir);
    const std::string text = path_option(entry, "text", config_dir);
    const std::string tokens = entry.value("tokens", std::string("byte+4"));
    if (tokens != "byte+4" && tokens != "npy")
      throw config_error(fmt::format("{}: tokens = \"{}\" is not allowed (allowed: byte+4, npy)", where, tokens));
    if (!fs::exists(text)) throw config_error(fmt::format("{}: text file '{}' does not exist", where, text));
    checkpoint_shape shape;
    try {
      shape = read_shape(checkpoint);
    } catch (const data_error& e) {
      throw config_error(fmt::format("{}: {}", where, e.what()));
    }
    if (entry.contains("window_index") && entry.contains("offset"))
      throw config_error(fmt::format("{}: give window_index or offset, not both", where));
    nlohmann::json base = {{"kind", "model"}, {"checkpoint", checkpoint}, {"text", text}, {"tokens", tokens}};
    if (entry.contains("offset")) {
      const auto off = integer_option(entry.at("offset"), "offset");
      if (off < 0) throw config_error(fmt::format("{}: offset {} is negative", where, off));
      base["offset"] = off;
    } else {
      const auto w = entry.contains("window_index") ? integer_option(entry.at("window_index"), "window_index") : 0;
      if (w < 0) throw config_error(fmt::format("{}: window_index {} is negative", where, w));
      base["window_index"] = w;
    }
    if (!entry.contains("layer")) throw config_error(fmt::format("{}: option 'layer' (an int or a list) is required", where));
    std::vector<std::int64_t> layers;
    const auto& lv = entry.at("layer");
    if (lv.is_array()) {
      if (lv.empty()) throw config_error(fmt::format("{}: option 'layer' is an empty list", where));
      for (const auto& x : lv) layers.push_back(integer_option(x, "layer"));
    } else {
      layers.push_back(integer_option(lv, "layer"));
    }
    std::vector<nlohmann::json> out;
    for (auto l : layers) {
      if (l < 0 || l >= shape.layers)
        throw config_error(fmt::format("{}: layer = {} is out of range: '{}' has layers 0 .. {}", where, l, checkpoint,
                                       shape.layers - 1));
      nlohmann::json j = base;
      j["layer"] = l;
      out.push_back(std::move(j));
    }
    return out;
  }

  std::string label(const nlohmann::json& o) const override {
    std::string s = fmt::format("model:{}:layer={}", fs::path(o.at("checkpoint").get<std::string>()).filename().string(),
                                o.at("layer").get<std::int64_t>());
    if (o.contains("offset")) return s + fmt::format(":offset={}", o.at("offset").get<std::int64_t>());
    const auto w = o.at("window_index").get<std::int64_t>();
    return w == 0 ? s : s + fmt::format(":window={}", w);
  }

  std::optional<std::string> check(const nlohmann::json& o, const problem& p) const override {
    checkpoint_shape s;
    try {
      s = read_shape(o.at("checkpoint").get<std::string>());
    } catch (const data_error&) {
      return std::nullopt;  // load() reports it as an error row
    }
    const std::string name = fs::path(o.at("checkpoint").get<std::string>()).filename().string();
    if (p.batch != 1) return fmt::format("model: {} runs one sequence, so batch must be 1 (got {})", name, p.batch);
    if (p.heads != s.heads)
      return fmt::format("model: {} has {} attention heads, but the sweep asks for heads = {}", name, s.heads, p.heads);
    if (p.head_dim != s.head_dim)
      return fmt::format("model: {} has head_dim {}, but the sweep asks for head_dim = {}", name, s.head_dim,
                         p.head_dim);
    try {
      const auto ids = model::load_token_ids(o.at("text").get<std::string>(), o.at("tokens").get<std::string>());
      const std::int64_t first = first_token(o, p.seq_len);
      if (first + p.seq_len > static_cast<std::int64_t>(ids.size()))
        return fmt::format("model: the text holds {} tokens; the window of {} starting at token {} does not fit",
                           ids.size(), p.seq_len, first);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    return std::nullopt;
  }

  qkv_host load(const nlohmann::json& o, const problem& p) const override {
    if (auto why = check(o, p)) throw data_error(*why);
    const model::opt_model m = model::load_opt_checkpoint(o.at("checkpoint").get<std::string>());
    const auto ids = model::load_token_ids(o.at("text").get<std::string>(), o.at("tokens").get<std::string>());
    const std::int64_t first = first_token(o, p.seq_len);
    if (first + p.seq_len > static_cast<std::int64_t>(ids.size()))
      throw data_error(fmt::format("model: the text holds {} tokens; the window of {} starting at token {} does not fit",
                                   ids.size(), p.seq_len, first));
    const std::span<const std::int32_t> window(ids.data() + first, static_cast<std::size_t>(p.seq_len));
    auto cap = model::capture_qkv(m, window, {static_cast<int>(o.at("layer").get<std::int64_t>())});
    return qkv_host{std::move(cap[0].q), std::move(cap[0].k), std::move(cap[0].v)};
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_DATASET(sb::model_dataset)
