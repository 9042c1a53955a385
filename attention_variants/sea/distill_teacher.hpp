// The teacher side of SEA's attention distillation (docs/distill.md): the exact softmax attention of one
// window pooled to each query row's K bins (bins.hpp, the config's upsample rule), with the two
// teacher-only constants the official T-space loss needs (train/losses.hpp). Computed once per window,
// O(T²d), then cached by the trainer. Also the loss of an estimate against it and the validation mass
// recall: the share of the teacher's softmax mass inside the keys SEA's top-k selects from an estimate.
#pragma once

#include <vector>

#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"
#include "harness/train/losses.hpp"

namespace sb::sea::distill {

struct teacher_window {
  int heads = 0, seq_len = 0, K = 0;
  std::vector<float> mass;        ///< [H, T, K]: exact softmax mass of each bin of each query row
  std::vector<double> p_log_p;    ///< [H, T]: Σ_j P_j log P_j
  std::vector<double> p_squared;  ///< [H, T]: Σ_j P_j²
};

/// Exact attention (softmax(q·kᵀ/√d), causal if p.causal) of one sample (p.batch = 1) pooled to bins.
[[nodiscard]] teacher_window compute_teacher(const problem& p, const config& c, qkv_view in);

/// Keys per bin of every query row for the config's upsample rule: [T, K].
[[nodiscard]] std::vector<int> row_bin_sizes(const problem& p, const config& c);

struct window_loss {
  double loss = 0;  ///< kl_weight·KL_batchmean + mse_weight·MSE over the T×T maps
  double kl = 0;    ///< KL(P ‖ Q) averaged over the H·T rows
  double mse = 0;   ///< mean over H·T·T entries of (Q − P)²
};
/// The official estimator loss of scores Ŝ [H, T, K] (before the softmax over K) against the teacher;
/// dscores (nullable) receives ∂loss/∂Ŝ.
[[nodiscard]] window_loss attention_loss(const teacher_window& teacher, const std::vector<int>& bin_sizes,
                                         const float* scores, const train::attention_loss_weights& w,
                                         float* dscores);

/// Mean over the H·T (head, query) rows of the teacher mass inside the cells SEA's grouped top-k selects
/// from Â [H, T, K] (c.topk, c.k, c.K; with upsample = nearest every key of a selected cell is kept, so
/// this is the teacher's exact mass inside the selected keys).
[[nodiscard]] double mass_recall(const problem& p, const config& c, const teacher_window& teacher, const float* ahat);

}  // namespace sb::sea::distill
