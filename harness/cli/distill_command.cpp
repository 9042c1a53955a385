#include "harness/cli/distill_command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attention_variants/sea/distill_trainer.hpp"
#include "attention_variants/sea/sea_config.hpp"
#include "harness/cli/commands.hpp"
#include "harness/config/toml_reader.hpp"
#include "harness/core/blas.hpp"
#include "harness/core/errors.hpp"
#include "harness/io/npy.hpp"
#include "harness/model/opt_model.hpp"

namespace sb::cli {
namespace {

namespace fs = std::filesystem;
using sea::distill::window_qkv;
using json = nlohmann::json;

std::size_t sz(long long x) { return static_cast<std::size_t>(x); }

/// The [distill] table (docs/distill.md lists every key).
struct distill_config {
  std::string teacher = "model";  ///< "model" (checkpoint + text) | "npy"
  std::string checkpoint, text, val_text, tokens = "byte+4", npy;
  double val_fraction = 0.125;
  std::vector<int> layers;
  int seq_len = 2048, windows = 64, val_windows = 8;
  int K = 128, nbf = 8, k = 64;
  bool causal = true;
  std::string topk = "causal_batch", upsample = "nearest";
  sea::distill::train_settings train;
  int threads = 1;
  bool compare = true;
  std::string output;
};

template <typename T>
T get_or(const json& t, const char* key, T fallback) {
  if (!t.contains(key)) return fallback;
  try {
    return t.at(key).get<T>();
  } catch (const json::exception&) {
    throw config_error(fmt::format("[distill] {}: wrong type ({})", key, t.at(key).dump()));
  }
}

/// A path from the config: relative ones are taken from the config file's folder (as in `seabench run` and
/// `model-eval`), so a config runs the same from any working directory; absolute ones stay as they are.
std::string config_relative(const fs::path& config_dir, const std::string& p) {
  if (p.empty()) return p;
  fs::path out(p);
  if (out.is_relative()) out = config_dir / out;
  return out.lexically_normal().string();
}

distill_config read_config(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw config_error(fmt::format("cannot read config '{}'", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  const json root = config::read_toml(ss.str(), path.string());
  if (!root.contains("distill") || !root.at("distill").is_object())
    throw config_error(fmt::format("{}: no [distill] table", path.string()));
  const json& t = root.at("distill");
  static const std::set<std::string> known = {
      "teacher", "checkpoint", "text", "val_text", "tokens", "npy", "val_fraction", "layers", "seq_len", "windows",
      "val_windows", "K", "nbf", "k", "causal", "topk_mode", "upsample", "epochs", "max_steps", "batch_windows", "lr",
      "weight_decay", "beta1", "beta2", "adam_eps", "clip", "seed", "eval_every", "kl_weight", "mse_weight",
      "threads", "compare", "output"};
  for (const auto& [key, value] : t.items())
    if (!known.count(key)) throw config_error(fmt::format("{}: unknown key [distill] {}", path.string(), key));
  distill_config c;
  c.teacher = get_or<std::string>(t, "teacher", c.teacher);
  c.checkpoint = get_or<std::string>(t, "checkpoint", "");
  c.text = get_or<std::string>(t, "text", "");
  c.val_text = get_or<std::string>(t, "val_text", "");
  c.tokens = get_or<std::string>(t, "tokens", c.tokens);
  c.npy = get_or<std::string>(t, "npy", "");
  c.val_fraction = get_or<double>(t, "val_fraction", c.val_fraction);
  c.layers = get_or<std::vector<int>>(t, "layers", {});
  c.seq_len = get_or<int>(t, "seq_len", c.seq_len);
  c.windows = get_or<int>(t, "windows", c.windows);
  c.val_windows = get_or<int>(t, "val_windows", c.val_windows);
  c.K = get_or<int>(t, "K", c.K);
  c.nbf = get_or<int>(t, "nbf", c.nbf);
  c.k = get_or<int>(t, "k", c.k);
  c.causal = get_or<bool>(t, "causal", c.causal);
  c.topk = get_or<std::string>(t, "topk_mode", c.topk);
  c.upsample = get_or<std::string>(t, "upsample", c.upsample);
  auto& s = c.train;
  s.epochs = get_or<int>(t, "epochs", s.epochs);
  s.max_steps = get_or<std::int64_t>(t, "max_steps", s.max_steps);
  s.batch_windows = get_or<int>(t, "batch_windows", s.batch_windows);
  s.adam.lr = get_or<double>(t, "lr", s.adam.lr);
  s.adam.weight_decay = get_or<double>(t, "weight_decay", s.adam.weight_decay);
  s.adam.beta1 = get_or<double>(t, "beta1", s.adam.beta1);
  s.adam.beta2 = get_or<double>(t, "beta2", s.adam.beta2);
  s.adam.eps = get_or<double>(t, "adam_eps", s.adam.eps);
  s.clip = get_or<double>(t, "clip", s.clip);
  s.seed = get_or<std::uint64_t>(t, "seed", s.seed);
  s.eval_every = get_or<int>(t, "eval_every", s.eval_every);
  s.loss.kl = get_or<double>(t, "kl_weight", s.loss.kl);
  s.loss.mse = get_or<double>(t, "mse_weight", s.loss.mse);
  c.threads = get_or<int>(t, "threads", c.threads);
  c.compare = get_or<bool>(t, "compare", c.compare);
  c.output = get_or<std::string>(t, "output", "");
  const fs::path config_dir = fs::absolute(path).parent_path();
  for (std::string* p : {&c.checkpoint, &c.text, &c.val_text, &c.npy, &c.output}) *p = config_relative(config_dir, *p);
  if (c.teacher != "model" && c.teacher != "npy")
    throw config_error(fmt::format("[distill] teacher = '{}': expected \"model\" or \"npy\"", c.teacher));
  if (c.teacher == "model" && (c.checkpoint.empty() || c.text.empty()))
    throw config_error("[distill] teacher = \"model\" needs checkpoint and text");
  if (c.teacher == "npy" && c.npy.empty()) throw config_error("[distill] teacher = \"npy\" needs npy");
  if (c.seq_len < 2 || c.windows < 1 || c.val_windows < 0 || c.threads < 1)
    throw config_error("[distill] seq_len >= 2, windows >= 1, val_windows >= 0 and threads >= 1 are required");
  if (!(c.val_fraction > 0 && c.val_fraction < 1)) throw config_error("[distill] val_fraction must be in (0, 1)");
  if (c.upsample != "nearest")
    throw config_error("[distill] upsample must be \"nearest\": distillation needs upsample = nearest (the official "
                       "training path; the mass recall counts whole cells)");
  return c;
}

/// Layer-major inputs: windows[layer index][window].
struct teacher_data {
  int heads = 0, head_dim = 0;
  std::vector<std::vector<window_qkv>> train, val;
};

window_qkv from_layer(model::layer_qkv&& l) { return {std::move(l.q), std::move(l.k), std::move(l.v)}; }

/// Non-overlapping windows of seq_len tokens from the start of `ids`, at most `max_windows`.
std::vector<std::span<const std::int32_t>> token_windows(const std::vector<std::int32_t>& ids, int seq_len,
                                                         std::size_t first, std::size_t end, int max_windows) {
  std::vector<std::span<const std::int32_t>> out;
  for (std::size_t s = first; s + sz(seq_len) <= end && static_cast<int>(out.size()) < max_windows; s += sz(seq_len))
    out.emplace_back(ids.data() + s, sz(seq_len));
  return out;
}

teacher_data model_teacher(const distill_config& c) {
  const model::opt_model m = model::load_opt_checkpoint(c.checkpoint);
  const std::vector<std::int32_t> ids = model::load_token_ids(c.text, c.tokens);
  std::vector<std::int32_t> val_ids;
  std::vector<std::span<const std::int32_t>> train_w, val_w;
  if (!c.val_text.empty()) {
    val_ids = model::load_token_ids(c.val_text, c.tokens);
    train_w = token_windows(ids, c.seq_len, 0, ids.size(), c.windows);
    val_w = token_windows(val_ids, c.seq_len, 0, val_ids.size(), c.val_windows);
  } else {
    // Split one text by position: the first (1 − val_fraction) of it trains, the rest validates.
    const std::size_t cut = static_cast<std::size_t>(std::floor(ids.size() * (1.0 - c.val_fraction)));
    train_w = token_windows(ids, c.seq_len, 0, cut, c.windows);
    val_w = token_windows(ids, c.seq_len, cut, ids.size(), c.val_windows);
  }
  if (train_w.empty())
    throw data_error(fmt::format("distill: '{}' holds no full window of {} tokens for training", c.text, c.seq_len));
  teacher_data d;
  d.train.resize(c.layers.size());
  d.val.resize(c.layers.size());
  auto capture = [&](const std::vector<std::span<const std::int32_t>>& windows,
                     std::vector<std::vector<window_qkv>>& into) {
    for (const auto& w : windows) {
      std::vector<model::layer_qkv> qkv = model::capture_qkv(m, w, c.layers);
      for (std::size_t i = 0; i < qkv.size(); ++i) {
        d.heads = qkv[i].heads;
        d.head_dim = qkv[i].head_dim;
        into[i].push_back(from_layer(std::move(qkv[i])));
      }
    }
  };
  capture(train_w, d.train);
  capture(val_w, d.val);
  return d;
}

/// .npy [L, 3, H, T, D]: each layer's T positions are cut into windows of seq_len; the first
/// (1 − val_fraction) of them train, the rest (at least one when there are two or more) validate.
teacher_data npy_teacher(const distill_config& c) {
  const npy_header h = read_npy_header(c.npy);
  if (h.shape.size() != 5 || h.shape[1] != 3)
    throw data_error(fmt::format("distill: '{}' has shape {}, expected [L, 3, H, T, D]", c.npy, h.shape_string()));
  const std::vector<float> all = read_npy_f32(c.npy);
  const std::int64_t L = h.shape[0], H = h.shape[2], T = h.shape[3], D = h.shape[4];
  const int n = static_cast<int>(T / c.seq_len);
  if (n < 1) throw data_error(fmt::format("distill: '{}' has T = {} < seq_len = {}", c.npy, T, c.seq_len));
  const int n_val = n >= 2 ? std::max(1, static_cast<int>(std::lround(n * c.val_fraction))) : 0;
  const int n_train = std::min(n - n_val, c.windows);
  teacher_data d;
  d.heads = static_cast<int>(H);
  d.head_dim = static_cast<int>(D);
  for (int layer : c.layers) {
    if (layer < 0 || layer >= L)
      throw config_error(fmt::format("[distill] layer {} is outside the {} layers of '{}'", layer, L, c.npy));
    auto slice = [&](int which, int window) {
      std::vector<float> out(sz(H) * c.seq_len * D);
      for (std::int64_t hh = 0; hh < H; ++hh) {
        const float* src = all.data() + ((((layer * 3 + which) * H + hh) * T) + sz(window) * c.seq_len) * D;
        std::copy_n(src, sz(c.seq_len) * D, out.data() + sz(hh) * c.seq_len * D);
      }
      return out;
    };
    auto& tr = d.train.emplace_back();
    auto& va = d.val.emplace_back();
    for (int w = 0; w < n; ++w) {
      window_qkv win{slice(0, w), slice(1, w), slice(2, w)};
      if (w < n_train) tr.push_back(std::move(win));
      else if (w >= n - n_val && static_cast<int>(va.size()) < c.val_windows) va.push_back(std::move(win));
    }
  }
  return d;
}

sea::config sea_config_of(const distill_config& d, const problem& p, const std::string& estimator,
                          const std::string& weights) {
  const param_set params = sea::parameter_schema().resolve(
      "distill", {{"estimator", estimator},
                  {"K", static_cast<std::int64_t>(d.K)},
                  {"nbf", static_cast<std::int64_t>(d.nbf)},
                  {"topk_mode", d.topk},
                  {"upsample", d.upsample},
                  {"weights", weights}});
  return sea::make_config(p, params);
}

std::string csv_number(double x) { return std::isnan(x) ? "" : fmt::format("{:.6g}", x); }

}  // namespace

int distill_command(const distill_command_options& o) {
  try {
    distill_config d = read_config(o.config);
    if (!o.layers.empty()) d.layers = o.layers;
    if (!o.output.empty()) d.output = o.output.string();  // a command-line path: from the working directory
    if (d.output.empty()) throw config_error("[distill] output (or -o) names the output folder");
    if (d.layers.empty()) throw config_error("[distill] layers lists the layers to train");
    d.train.stop_after = o.stop_after;
    d.train.resume = o.resume;
    fs::create_directories(d.output);

    const auto t0 = std::chrono::steady_clock::now();
    const teacher_data data = d.teacher == "model" ? model_teacher(d) : npy_teacher(d);
    const double capture_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << fmt::format("distill: {} layer(s), {} training and {} validation windows of {} tokens per layer "
                             "(teacher inputs in {:.1f} s); backbone frozen, estimator only\n",
                             d.layers.size(), data.train[0].size(), data.val[0].size(), d.seq_len, capture_s)
              << std::flush;

    problem p;
    p.batch = 1;
    p.heads = data.heads;
    p.seq_len = d.seq_len;
    p.head_dim = data.head_dim;
    p.causal = d.causal;
    p.k = d.k;
    p.seed = d.train.seed;
    const sea::config c = sea_config_of(d, p, "performer", "");

    const fs::path progress_path = fs::path(d.output) / "progress.csv";
    const bool append = o.resume && fs::exists(progress_path);
    std::ofstream progress(progress_path, append ? std::ios::app : std::ios::trunc);
    if (!append) progress << "layer,step,total_steps,epoch,train_loss,val_loss,val_kl,val_mse,val_mass_recall,elapsed_s\n";
    std::mutex io_mutex;
    auto on_progress = [&](const sea::distill::progress_line& l) {
      std::lock_guard lock(io_mutex);
      std::cout << fmt::format("layer {} step {}/{} epoch {} train_loss {} val_loss {:.5f} val_mass_recall {:.4f} "
                               "({:.1f} s)\n",
                               l.layer, l.step, l.total_steps, l.epoch,
                               std::isnan(l.train_loss) ? std::string("-") : fmt::format("{:.5f}", l.train_loss),
                               l.val_loss, l.val_recall, l.elapsed_s)
                << std::flush;
      progress << fmt::format("{},{},{},{},{},{},{},{},{},{:.2f}\n", l.layer, l.step, l.total_steps, l.epoch,
                              csv_number(l.train_loss), csv_number(l.val_loss), csv_number(l.val_kl),
                              csv_number(l.val_mse), csv_number(l.val_recall), l.elapsed_s)
               << std::flush;
    };

    struct layer_summary {
      bool finished = false;
      std::int64_t steps = 0;
      double seconds = 0;
      std::vector<double> recall;  // oracle, pooled, performer_hist, performer untrained, performer trained
      std::string error;
    };
    std::vector<layer_summary> summary(d.layers.size());
    auto run_layer = [&](std::size_t i) {
      const int layer = d.layers[i];
      const auto start = std::chrono::steady_clock::now();
      sea::distill::train_settings s = d.train;
      s.checkpoint = (fs::path(d.output) / fmt::format("layer{}.ckpt.safetensors", layer)).string();
      const auto out = sea::distill::train_layer(p, c, data.train[i], data.val[i], s, layer, on_progress);
      layer_summary& sm = summary[i];
      sm.finished = out.finished;
      sm.steps = out.steps;
      if (out.finished) {
        const std::string weights = (fs::path(d.output) / fmt::format("layer{}.safetensors", layer)).string();
        sea::distill::write_distilled_weights(weights, out.weights, p, c, s, layer, out.steps);
        if (d.compare)
          sm.recall = sea::distill::estimators_recall(
              p,
              {sea_config_of(d, p, "oracle", ""), sea_config_of(d, p, "pooled", ""),
               sea_config_of(d, p, "performer_hist", ""), sea_config_of(d, p, "performer", ""),
               sea_config_of(d, p, "performer", weights)},
              data.val[i]);
      }
      sm.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    // Layers are independent: `threads` workers take them in order. BLAS is single-threaded for training
    // whatever `threads` is (a multi-threaded sgemm splits its sums differently), so a layer's arithmetic,
    // and its weights, do not depend on the thread count.
    blas::set_threads(1);
    std::size_t next = 0;
    std::vector<std::thread> workers;
    for (int w = 0; w < std::min<int>(d.threads, static_cast<int>(d.layers.size())); ++w)
      workers.emplace_back([&] {
        for (;;) {
          std::size_t i;
          {
            std::lock_guard lock(io_mutex);
            if (next >= d.layers.size()) return;
            i = next++;
          }
          try {
            run_layer(i);
          } catch (const std::exception& e) {
            summary[i].error = e.what();
          }
        }
      });
    for (auto& w : workers) w.join();

    std::ofstream recall(fs::path(d.output) / "recall.csv");
    recall << "layer,steps,train_s,oracle,pooled,performer_hist,performer_untrained,performer_trained,gap_share\n";
    int failures = 0;
    for (std::size_t i = 0; i < d.layers.size(); ++i) {
      const layer_summary& sm = summary[i];
      if (!sm.error.empty()) {
        std::cerr << fmt::format("distill: layer {} failed: {}\n", d.layers[i], sm.error);
        ++failures;
        continue;
      }
      if (!sm.finished) {
        std::cout << fmt::format("layer {}: stopped after step {} (checkpointed; --resume continues)\n",
                                 d.layers[i], sm.steps);
        continue;
      }
      std::vector<double> r = sm.recall;
      r.resize(5, std::nan(""));
      const double gap = (r[4] - r[2]) / (r[0] - r[2]);
      recall << fmt::format("{},{},{:.1f},{},{},{},{},{},{}\n", d.layers[i], sm.steps, sm.seconds, csv_number(r[0]),
                            csv_number(r[1]), csv_number(r[2]), csv_number(r[3]), csv_number(r[4]), csv_number(gap));
      std::cout << fmt::format(
          "layer {}: {} steps in {:.1f} s; val mass recall trained {} | untrained {} | performer_hist {} | pooled {} "
          "| oracle {}; gap share {}\n",
          d.layers[i], sm.steps, sm.seconds, csv_number(r[4]), csv_number(r[3]), csv_number(r[2]), csv_number(r[1]),
          csv_number(r[0]), csv_number(gap));
    }
    const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << fmt::format("distill: done in {:.1f} s; weights in {}\n", total_s, d.output);
    return failures ? exit_harness_failure : exit_ok;
  } catch (const config_error& e) {
    std::cerr << "distill: " << e.what() << "\n";
    return exit_bad_usage;
  } catch (const std::exception& e) {
    std::cerr << "distill: " << e.what() << "\n";
    return exit_harness_failure;
  }
}

}  // namespace sb::cli
