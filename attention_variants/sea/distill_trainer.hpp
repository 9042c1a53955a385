// Attention distillation of SEA's learned estimator for one attention layer (docs/distill.md): AdamW on
// the official estimator loss against the cached, bin-pooled teacher attention of each training window;
// validation loss and mass recall; checkpoint/resume; the trained weights in the format
// `estimator = performer` loads, marked with gates "off" (the attention losses never train them) and
// backbone "frozen" (only the estimator is fitted).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "attention_variants/sea/learned_estimator.hpp"
#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"
#include "harness/train/adamw.hpp"
#include "harness/train/losses.hpp"

namespace sb::sea::distill {

/// One window of one layer's attention inputs, [H, T, D] each, q unscaled.
struct window_qkv {
  std::vector<float> q, k, v;
  [[nodiscard]] qkv_view view() const { return {q.data(), k.data(), v.data()}; }
};

struct train_settings {
  int epochs = 4;
  std::int64_t max_steps = 0;  ///< > 0: stop the schedule there (else epochs·ceil(train windows / batch))
  int batch_windows = 1;       ///< windows whose gradients are summed into one optimizer step
  train::adamw_settings adam;
  double clip = 1.0;           ///< global gradient-norm clip (≤ 0: off)
  std::uint64_t seed = 1;      ///< initial weights (random_performer_weights) and the window order
  int eval_every = 0;          ///< steps between validation lines (0: once per epoch)
  std::int64_t stop_after = 0; ///< > 0: leave after this many steps of the schedule (checkpointed), to resume later
  std::string checkpoint;      ///< checkpoint file ("" = none)
  bool resume = false;         ///< continue from `checkpoint` when it exists
  train::attention_loss_weights loss;
};

struct progress_line {
  int layer = 0;
  std::int64_t step = 0, total_steps = 0;
  int epoch = 0;
  double train_loss = 0;  ///< mean window loss of the steps since the previous line
  double val_loss = 0, val_kl = 0, val_mse = 0, val_recall = 0;
  double elapsed_s = 0;
};

struct layer_outcome {
  performer_weights weights;
  std::int64_t steps = 0;      ///< optimizer steps done in total
  bool finished = false;       ///< the schedule is complete (false: stopped by stop_after)
  std::vector<progress_line> history;
};

/// Validation loss and mass recall of `w` over windows (with cached teachers).
struct evaluation {
  double loss = 0, kl = 0, mse = 0, recall = 0;
};

/// Train one layer. p: one window (batch 1, heads, seq_len, head_dim, causal, k); c: the SEA config
/// (estimator performer, K, nbf, topk, upsample = nearest). Throws sb::config_error for bad settings and
/// sb::data_error for a checkpoint that does not match.
[[nodiscard]] layer_outcome train_layer(const problem& p, const config& c, const std::vector<window_qkv>& train,
                                        const std::vector<window_qkv>& val, const train_settings& s, int layer,
                                        const std::function<void(const progress_line&)>& on_progress);

/// Mean validation mass recall over `windows` of each estimator configuration in `configs` (c.estimator,
/// c.weights; p.seed draws the untrained and training-free estimators' random numbers). Teachers are
/// computed once per window with configs[0]'s K and upsample rule, which every config must share.
[[nodiscard]] std::vector<double> estimators_recall(const problem& p, const std::vector<config>& configs,
                                                   const std::vector<window_qkv>& windows);

/// The metadata written into a distilled weights file (`sea.gates` = "off", `sea.backbone` = "frozen", ...).
[[nodiscard]] std::map<std::string, std::string> distilled_metadata(const problem& p, const config& c,
                                                                    const train_settings& s, int layer,
                                                                    std::int64_t steps);
/// Write the weights file `estimator = performer` loads, with distilled_metadata.
void write_distilled_weights(const std::string& path, const performer_weights& w, const problem& p, const config& c,
                             const train_settings& s, int layer, std::int64_t steps);

}  // namespace sb::sea::distill
