#include "attention_variants/sea/distill_trainer.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <numeric>
#include <span>

#include <fmt/format.h>

#include "attention_variants/sea/distill_estimator.hpp"
#include "attention_variants/sea/distill_teacher.hpp"
#include "attention_variants/sea/estimators.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/rng.hpp"
#include "harness/io/safetensors.hpp"

namespace sb::sea::distill {
namespace {

std::size_t sz(long long x) { return static_cast<std::size_t>(x); }

/// Counter stream of the training window order (distinct from every stream in rng.hpp).
constexpr std::uint64_t window_order_stream = 48;

/// Window order of one epoch: a Fisher–Yates shuffle drawn from (seed, epoch), so the order of any
/// step is a pure function of the seed and the step (what makes resuming exact).
std::vector<int> epoch_order(std::uint64_t seed, int epoch, int n) {
  std::vector<int> order(sz(n));
  std::iota(order.begin(), order.end(), 0);
  counter_rng rng(seed, window_order_stream);
  rng.seek(static_cast<std::uint64_t>(epoch) * 2 * static_cast<std::uint64_t>(n));
  for (int i = n - 1; i > 0; --i) std::swap(order[sz(i)], order[rng.below(static_cast<std::uint64_t>(i) + 1)]);
  return order;
}

void check_settings(const problem& p, const config& c, const train_settings& s, std::size_t n_train) {
  if (c.estimator != estimator_kind::performer)
    throw config_error("sea distillation trains estimator = performer");
  if (c.upsample != upsample_mode::nearest)
    throw config_error("sea distillation needs upsample = nearest (the official training path; the mass recall "
                       "counts whole cells)");
  if (p.batch != 1) throw config_error("sea distillation: one window per sample (batch = 1)");
  if (n_train == 0) throw config_error("sea distillation: no training windows");
  if (s.epochs < 1 && s.max_steps < 1) throw config_error("sea distillation: epochs or max_steps must be >= 1");
  if (s.batch_windows < 1) throw config_error("sea distillation: batch_windows must be >= 1");
  if (!(s.adam.lr > 0)) throw config_error("sea distillation: lr must be > 0");
}

struct adam_state {
  std::map<std::string, std::vector<float>> m, v;
};

std::string settings_signature(const train_settings& s) {
  return fmt::format("seed={} lr={} wd={} b1={} b2={} eps={} clip={} batch={} epochs={} max_steps={}", s.seed,
                     s.adam.lr, s.adam.weight_decay, s.adam.beta1, s.adam.beta2, s.adam.eps, s.clip, s.batch_windows,
                     s.epochs, s.max_steps);
}

void save_checkpoint(const std::string& path, const performer_weights& w, const adam_state& st, const problem& p,
                     const config& c, const train_settings& s, std::int64_t step) {
  performer_weights copy = w;
  auto tensors = performer_weight_tensors(copy, p, c);
  for (auto& [name, values] : trainable_tensors(copy, p.causal)) {
    const auto& shape = tensors.at(name).shape;
    tensors.emplace("adam.m." + name, io::host_tensor{shape, st.m.at(name)});
    tensors.emplace("adam.v." + name, io::host_tensor{shape, st.v.at(name)});
  }
  const std::string tmp = path + ".tmp";
  io::write_safetensors(tmp, tensors, {{"distill.step", std::to_string(step)},
                                       {"distill.settings", settings_signature(s)}});
  std::filesystem::rename(tmp, path);  // a crash mid-write never leaves a torn checkpoint
}

std::int64_t load_checkpoint(const std::string& path, performer_weights& w, adam_state& st, const problem& p,
                             const config& c, const train_settings& s) {
  w = load_performer_weights(path, p, c);
  const io::safetensors_file f = io::safetensors_file::load(path);
  const auto& meta = f.metadata();
  if (!meta.count("distill.step") || !meta.count("distill.settings"))
    throw data_error(fmt::format("checkpoint '{}' has no distill.step/distill.settings metadata", path));
  if (meta.at("distill.settings") != settings_signature(s))
    throw data_error(fmt::format("checkpoint '{}' was written with other settings ({}); this run has ({})", path,
                                 meta.at("distill.settings"), settings_signature(s)));
  for (auto& [name, values] : trainable_tensors(w, p.causal)) {
    const io::host_tensor& m = f.get("adam.m." + name);
    const io::host_tensor& v = f.get("adam.v." + name);
    if (m.data.size() != values->size() || v.data.size() != values->size())
      throw data_error(fmt::format("checkpoint '{}': optimizer state of '{}' has the wrong size", path, name));
    st.m[name] = m.data;
    st.v[name] = v.data;
  }
  return std::stoll(meta.at("distill.step"));
}

evaluation evaluate(trainable_estimator& est, const performer_weights& w, const problem& p, const config& c,
                    const std::vector<window_qkv>& val, const std::vector<teacher_window>& teachers,
                    const std::vector<int>& sizes, const train::attention_loss_weights& lw) {
  evaluation e;
  if (val.empty()) return e;
  const std::size_t n = sz(p.heads) * p.seq_len * c.K;
  std::vector<float> scores(n);
  for (std::size_t i = 0; i < val.size(); ++i) {
    est.forward(val[i].view(), w, scores.data());
    const window_loss l = attention_loss(teachers[i], sizes, scores.data(), lw, nullptr);
    e.loss += l.loss;
    e.kl += l.kl;
    e.mse += l.mse;
    for (std::size_t r = 0; r < n; r += sz(c.K)) softmax_row(scores.data() + r, c.K);
    e.recall += mass_recall(p, c, teachers[i], scores.data());
  }
  const double inv = 1.0 / static_cast<double>(val.size());
  e.loss *= inv;
  e.kl *= inv;
  e.mse *= inv;
  e.recall *= inv;
  return e;
}

}  // namespace

layer_outcome train_layer(const problem& p_in, const config& c, const std::vector<window_qkv>& train,
                          const std::vector<window_qkv>& val, const train_settings& s, int layer,
                          const std::function<void(const progress_line&)>& on_progress) {
  check_settings(p_in, c, s, train.size());
  problem p = p_in;
  p.seed = s.seed;  // random_performer_weights draws from p.seed: the untrained estimator of this seed
  const auto t_start = std::chrono::steady_clock::now();
  const int n = static_cast<int>(train.size());
  const std::int64_t steps_per_epoch = (n + s.batch_windows - 1) / s.batch_windows;
  const std::int64_t total = s.max_steps > 0 ? s.max_steps : steps_per_epoch * s.epochs;
  const std::int64_t eval_every = s.eval_every > 0 ? s.eval_every : steps_per_epoch;

  layer_outcome out;
  out.weights = random_performer_weights(p, c);
  adam_state st;
  for (auto& [name, values] : trainable_tensors(out.weights, p.causal)) {
    st.m[name].assign(values->size(), 0.0f);
    st.v[name].assign(values->size(), 0.0f);
  }
  std::int64_t step = 0;
  if (s.resume && !s.checkpoint.empty() && std::filesystem::exists(s.checkpoint))
    step = load_checkpoint(s.checkpoint, out.weights, st, p, c, s);

  // The teacher side is the expensive part of a window (O(T²d)): once per window, kept for the run.
  std::vector<teacher_window> train_teacher, val_teacher;
  train_teacher.reserve(train.size());
  for (const auto& w : train) train_teacher.push_back(compute_teacher(p, c, w.view()));
  for (const auto& w : val) val_teacher.push_back(compute_teacher(p, c, w.view()));
  const std::vector<int> sizes = row_bin_sizes(p, c);

  trainable_estimator est(p, c);
  performer_weights grads = zeros_like(out.weights, p.causal);
  const std::size_t n_scores = sz(p.heads) * p.seq_len * c.K;
  std::vector<float> scores(n_scores), dscores(n_scores);
  double loss_since = 0;
  int windows_since = 0;
  std::vector<int> order;
  int order_epoch = -1;
  const std::int64_t stop_at = s.stop_after > 0 ? std::min(total, step + s.stop_after) : total;

  auto report = [&](std::int64_t at_step) {
    const evaluation e = evaluate(est, out.weights, p, c, val, val_teacher, sizes, s.loss);
    progress_line line;
    line.layer = layer;
    line.step = at_step;
    line.total_steps = total;
    line.epoch = static_cast<int>((at_step * s.batch_windows) / n);
    line.train_loss = windows_since ? loss_since / windows_since : std::nan("");
    line.val_loss = e.loss;
    line.val_kl = e.kl;
    line.val_mse = e.mse;
    line.val_recall = e.recall;
    line.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    loss_since = 0;
    windows_since = 0;
    out.history.push_back(line);
    if (on_progress) on_progress(line);
  };
  if (step == 0) report(0);

  while (step < stop_at) {
    for (auto& [name, g] : trainable_tensors(grads, p.causal)) std::fill(g->begin(), g->end(), 0.0f);
    for (int j = 0; j < s.batch_windows; ++j) {
      const std::int64_t index = step * s.batch_windows + j;  // position in the endless epoch sequence
      const int epoch = static_cast<int>(index / n);
      if (epoch != order_epoch) {
        order = epoch_order(s.seed, epoch, n);
        order_epoch = epoch;
      }
      const int w = order[sz(index % n)];
      est.forward(train[sz(w)].view(), out.weights, scores.data());
      const window_loss l = attention_loss(train_teacher[sz(w)], sizes, scores.data(), s.loss, dscores.data());
      est.backward(train[sz(w)].view(), out.weights, dscores.data(), grads);
      loss_since += l.loss;
      ++windows_since;
    }
    std::vector<std::span<float>> gspans;
    for (auto& [name, g] : trainable_tensors(grads, p.causal)) {
      if (s.batch_windows > 1)
        for (float& x : *g) x /= static_cast<float>(s.batch_windows);
      gspans.emplace_back(*g);
    }
    train::clip_grad_norm(gspans, s.clip);
    ++step;
    auto params = trainable_tensors(out.weights, p.causal);
    auto gl = trainable_tensors(grads, p.causal);
    for (std::size_t i = 0; i < params.size(); ++i)
      train::adamw_step(s.adam, step, *params[i].second, *gl[i].second, st.m.at(params[i].first),
                        st.v.at(params[i].first));
    if (step % eval_every == 0 || step == total) {
      report(step);
      if (!s.checkpoint.empty()) save_checkpoint(s.checkpoint, out.weights, st, p, c, s, step);
    }
  }
  if (!s.checkpoint.empty() && step % eval_every != 0 && step != total)
    save_checkpoint(s.checkpoint, out.weights, st, p, c, s, step);
  out.steps = step;
  out.finished = step >= total;
  out.weights.trained = true;
  return out;
}

std::vector<double> estimators_recall(const problem& p, const std::vector<config>& configs,
                                      const std::vector<window_qkv>& windows) {
  std::vector<double> out(configs.size(), std::nan(""));
  if (windows.empty() || configs.empty()) return out;
  for (const config& c : configs)
    if (c.K != configs[0].K || c.upsample != configs[0].upsample)
      throw config_error("estimators_recall: every estimator must share K and the upsample rule");
  std::vector<std::unique_ptr<estimator>> ests;
  for (const config& c : configs) ests.push_back(make_estimator(p, c));
  std::vector<float> ahat(sz(p.heads) * p.seq_len * configs[0].K);
  std::fill(out.begin(), out.end(), 0.0);
  for (const auto& w : windows) {
    const teacher_window t = compute_teacher(p, configs[0], w.view());
    for (std::size_t i = 0; i < configs.size(); ++i) {
      ests[i]->estimate(w.view(), ahat.data(), nullptr);
      out[i] += mass_recall(p, configs[i], t, ahat.data());
    }
  }
  for (double& r : out) r /= static_cast<double>(windows.size());
  return out;
}

std::map<std::string, std::string> distilled_metadata(const problem& p, const config& c, const train_settings& s,
                                                      int layer, std::int64_t steps) {
  return {{"sea.gates", "off"},
          {"sea.backbone", "frozen"},
          {"sea.trained_by", "seabench distill (attention loss 0.1*KL + MSE; estimator only)"},
          {"sea.layer", std::to_string(layer)},
          {"sea.steps", std::to_string(steps)},
          {"sea.seed", std::to_string(s.seed)},
          {"sea.seq_len", std::to_string(p.seq_len)},
          {"sea.heads", std::to_string(p.heads)},
          {"sea.head_dim", std::to_string(p.head_dim)},
          {"sea.causal", p.causal ? "true" : "false"},
          {"sea.K", std::to_string(c.K)},
          {"sea.nbf", std::to_string(c.nbf)},
          {"sea.upsample", std::string(to_string(c.upsample))}};
}

void write_distilled_weights(const std::string& path, const performer_weights& w, const problem& p, const config& c,
                             const train_settings& s, int layer, std::int64_t steps) {
  const std::string tmp = path + ".tmp";
  io::write_safetensors(tmp, performer_weight_tensors(w, p, c), distilled_metadata(p, c, s, layer, steps));
  std::filesystem::rename(tmp, path);
}

}  // namespace sb::sea::distill
