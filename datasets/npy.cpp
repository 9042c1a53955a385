// npy: real Q, K, V from a NumPy .npy file shaped [..., 3, H, T, D] (axis of size 3 = q, k, v), fp16
// (`<f2`), fp32 (`<f4`) or bfloat16 (`<u2` with dtype = "bf16"). Every axis before the `3` is fixed
// by the options: `index` gives all but the last of them and `layer` the last (so `layer` alone
// picks along the leading axis of [L, 3, H, T, D]; a [3, H, T, D] file takes neither). A case takes
// the first seq_len positions and the first `heads` heads; batch must be 1 and head_dim must be D.
#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "datasets/common.hpp"
#include "harness/core/dataset.hpp"
#include "harness/core/errors.hpp"
#include "harness/io/npy.hpp"

namespace sb {
namespace {

constexpr std::string_view where = "dataset 'npy'";

/// The file's geometry: leading axes, then 3, H, T, D.
struct qkv_layout {
  std::vector<std::int64_t> leading;
  std::int64_t heads = 0, seq_len = 0, head_dim = 0;
};

/// Whether the header has the [..., 3, H, T, D] shape; a description of what is wrong otherwise.
std::optional<std::string> layout_problem(const npy_header& h) {
  const std::size_t n = h.shape.size();
  if (n < 4 || h.shape[n - 4] != 3)
    return fmt::format("has shape {}; expected [3, H, T, D] or [..., 3, H, T, D] (the axis of size 3 is q, k, v)",
                       h.shape_string());
  if (h.shape[n - 3] == 0 || h.shape[n - 2] == 0 || h.shape[n - 1] == 0)
    return fmt::format("has shape {} with an empty H, T or D axis", h.shape_string());
  return std::nullopt;
}

qkv_layout layout_of(const npy_header& h) {
  const std::size_t n = h.shape.size();
  qkv_layout l;
  l.leading.assign(h.shape.begin(), h.shape.end() - 4);
  l.heads = h.shape[n - 3];
  l.seq_len = h.shape[n - 2];
  l.head_dim = h.shape[n - 1];
  return l;
}

/// The leading indices of canonical options: index..., then layer.
std::vector<std::int64_t> leading_index(const nlohmann::json& options) {
  std::vector<std::int64_t> idx;
  if (options.contains("index"))
    for (const auto& v : options.at("index")) idx.push_back(v.get<std::int64_t>());
  if (options.contains("layer")) idx.push_back(options.at("layer").get<std::int64_t>());
  return idx;
}

std::int64_t integer_option(const nlohmann::json& v, const std::string& what) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<std::int64_t>(v.get<double>())))
    return static_cast<std::int64_t>(v.get<double>());
  throw config_error(fmt::format("{}: {} must be an integer, got {}", where, what, v.dump()));
}

class npy_dataset final : public dataset_source {
 public:
  std::string_view name() const override { return "npy"; }
  std::string_view description() const override {
    return "real Q, K, V from a .npy array [..., 3, H, T, D] (fp16, fp32 or bf16 as <u2); options path, "
           "layer, index, dtype";
  }

  std::vector<nlohmann::json> expand(const nlohmann::json& entry,
                                     const std::filesystem::path& config_dir) const override {
    datasets::require_entry_object(entry, name());
    for (const auto& [key, value] : entry.items())
      if (key != "kind" && key != "path" && key != "layer" && key != "index" && key != "dtype")
        throw config_error(
            fmt::format("{}: unknown option '{}' (known options: kind, path, layer, index, dtype)", where, key));

    if (!entry.contains("path") || !entry.at("path").is_string() || entry.at("path").get<std::string>().empty())
      throw config_error(fmt::format("{}: option 'path' (a string naming the .npy file) is required", where));
    std::filesystem::path path = entry.at("path").get<std::string>();
    if (path.is_relative()) path = config_dir / path;
    path = std::filesystem::absolute(path).lexically_normal();
    const std::string shown = path.string();

    std::optional<std::string> dtype_given;
    if (entry.contains("dtype")) {
      const auto& d = entry.at("dtype");
      if (!d.is_string() || (d != "fp16" && d != "fp32" && d != "bf16"))
        throw config_error(fmt::format("{}: option 'dtype' = {} is not allowed (allowed: fp16, fp32, bf16)", where,
                                       d.dump()));
      dtype_given = d.get<std::string>();
    }

    npy_header h;
    npy_element element{};
    try {
      h = read_npy_header(path);
      element = npy_element_of(h, dtype_given == "bf16", shown);
    } catch (const data_error& e) {
      throw config_error(fmt::format("{}: {}", where, e.what()));
    }
    if (dtype_given && *dtype_given != to_string(element))
      throw config_error(fmt::format("{}: {}: dtype = \"{}\" but the file's descr '{}' holds {}", where, shown,
                                     *dtype_given, h.descr, to_string(element)));
    if (auto why = layout_problem(h)) throw config_error(fmt::format("{}: {} {}", where, shown, *why));
    if (!h.data_complete())
      throw config_error(fmt::format("{}: {}: truncated data: shape {} of '{}' needs {} data bytes but the file has {}",
                                     where, shown, h.shape_string(), h.descr, h.data_bytes(),
                                     h.available_data_bytes()));
    const qkv_layout layout = layout_of(h);
    const std::size_t n = layout.leading.size();

    std::vector<std::int64_t> index;
    if (entry.contains("index")) {
      const auto& v = entry.at("index");
      if (!v.is_array())
        throw config_error(fmt::format("{}: option 'index' must be a list of integers, got {}", where, v.dump()));
      for (std::size_t i = 0; i < v.size(); ++i) index.push_back(integer_option(v[i], fmt::format("index[{}]", i)));
    }
    std::vector<std::optional<std::int64_t>> layers{std::nullopt};
    if (entry.contains("layer")) {
      const auto& v = entry.at("layer");
      layers.clear();
      if (v.is_array()) {
        if (v.empty()) throw config_error(fmt::format("{}: option 'layer' is an empty list", where));
        for (const auto& x : v) layers.emplace_back(integer_option(x, "layer"));
      } else {
        layers.emplace_back(integer_option(v, "layer"));
      }
    }

    const std::size_t given = index.size() + (layers.front() ? 1 : 0);
    if (n == 0 && given > 0)
      throw config_error(fmt::format("{}: {} has shape {} with no axes before q, k, v; remove 'layer' and 'index'",
                                     where, shown, h.shape_string()));
    if (given != n)
      throw config_error(fmt::format(
          "{}: {} has shape {}: its {} axes before q, k, v must all be fixed ('index' gives the first ones, "
          "'layer' the last), but {} {} given",
          where, shown, h.shape_string(), n, given, given == 1 ? "was" : "were"));

    std::vector<nlohmann::json> out;
    for (const auto& layer : layers) {
      std::vector<std::int64_t> full = index;
      if (layer) full.push_back(*layer);
      for (std::size_t a = 0; a < n; ++a)
        if (full[a] < 0 || full[a] >= layout.leading[a]) {
          const bool is_layer = layer && a + 1 == n;
          throw config_error(fmt::format("{}: {} = {} is out of range for {}: axis {} of shape {} has size {} "
                                         "(allowed: 0 .. {})",
                                         where, is_layer ? "layer" : fmt::format("index[{}]", a), full[a], shown, a,
                                         h.shape_string(), layout.leading[a], layout.leading[a] - 1));
        }
      // Canonical form: the last leading index is "layer", the others "index".
      nlohmann::json j = {{"kind", "npy"}, {"path", shown}, {"dtype", std::string(to_string(element))}};
      if (n >= 1) j["layer"] = full.back();
      if (n >= 2) j["index"] = std::vector<std::int64_t>(full.begin(), full.end() - 1);
      out.push_back(std::move(j));
    }
    return out;
  }

  std::string label(const nlohmann::json& options) const override {
    std::string s = "npy:" + std::filesystem::path(options.at("path").get<std::string>()).filename().string();
    if (options.contains("index")) {
      std::vector<std::int64_t> idx;
      for (const auto& v : options.at("index")) idx.push_back(v.get<std::int64_t>());
      s += fmt::format(":index=[{}]", fmt::join(idx, ";"));
    }
    if (options.contains("layer")) s += fmt::format(":layer={}", options.at("layer").get<std::int64_t>());
    return s;
  }

  /// Shape mismatches only: a file that cannot be read is load()'s data_error (an `error` row).
  std::optional<std::string> check(const nlohmann::json& options, const problem& p) const override {
    npy_header h;
    try {
      h = read_npy_header(options.at("path").get<std::string>());
    } catch (const data_error&) {
      return std::nullopt;
    }
    if (layout_problem(h)) return std::nullopt;
    return shape_problem(options, layout_of(h), p);
  }

  qkv_host load(const nlohmann::json& options, const problem& p) const override {
    const std::filesystem::path path = options.at("path").get<std::string>();
    const std::string shown = path.string();
    npy_reader reader(path);
    const npy_header& h = reader.header();
    const npy_element element = npy_element_of(h, options.value("dtype", std::string{}) == "bf16", shown);
    if (auto why = layout_problem(h)) throw data_error(fmt::format("{} {}", shown, *why));
    const qkv_layout layout = layout_of(h);
    if (auto why = shape_problem(options, layout, p)) throw data_error(*why);

    const std::vector<std::int64_t> idx = leading_index(options);
    if (idx.size() != layout.leading.size())
      throw data_error(fmt::format("{}: shape {} has {} axes before q, k, v but the options fix {}", shown,
                                   h.shape_string(), layout.leading.size(), idx.size()));
    std::uint64_t slab = 0;  // which [3, H, T, D] block, in C order over the leading axes
    for (std::size_t a = 0; a < idx.size(); ++a) {
      if (idx[a] < 0 || idx[a] >= layout.leading[a])
        throw data_error(fmt::format("{}: index {} is out of range for axis {} of shape {}", shown, idx[a], a,
                                     h.shape_string()));
      slab = slab * static_cast<std::uint64_t>(layout.leading[a]) + static_cast<std::uint64_t>(idx[a]);
    }
    const auto fh = static_cast<std::uint64_t>(layout.heads), ft = static_cast<std::uint64_t>(layout.seq_len),
               fd = static_cast<std::uint64_t>(layout.head_dim);
    const std::size_t rows = static_cast<std::size_t>(p.seq_len) * p.head_dim;  // one head's slice

    qkv_host out;
    std::vector<float>* tensors[3] = {&out.q, &out.k, &out.v};
    for (std::uint64_t c = 0; c < 3; ++c) {
      tensors[c]->resize(p.qkv_elements());
      for (int hd = 0; hd < p.heads; ++hd) {
        const std::uint64_t first = ((slab * 3 + c) * fh + static_cast<std::uint64_t>(hd)) * ft * fd;
        reader.read(first, element, std::span<float>(tensors[c]->data() + hd * rows, rows));
      }
    }
    return out;
  }

 private:
  static std::optional<std::string> shape_problem(const nlohmann::json& options, const qkv_layout& l,
                                                  const problem& p) {
    const std::string file = std::filesystem::path(options.at("path").get<std::string>()).filename().string();
    if (p.batch != 1) return fmt::format("npy: {} holds one sequence, so batch must be 1 (got {})", file, p.batch);
    if (l.seq_len < p.seq_len)
      return fmt::format("npy: {} has T = {} positions, fewer than seq_len = {}", file, l.seq_len, p.seq_len);
    if (l.heads < p.heads)
      return fmt::format("npy: {} has H = {} heads, fewer than heads = {}", file, l.heads, p.heads);
    if (l.head_dim != p.head_dim)
      return fmt::format("npy: {} has head_dim D = {}, not {}", file, l.head_dim, p.head_dim);
    return std::nullopt;
  }
};

}  // namespace
}  // namespace sb

SB_REGISTER_DATASET(sb::npy_dataset)
