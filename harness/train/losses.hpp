// Distillation losses with their gradients (docs/distill.md). The estimator is compared with the teacher
// the way the official trainer compares them (sea-algorithm.md §16): L = 0.1·KL(P ‖ Q) + MSE(Q, P) with
// Q = softmax over the row's visible keys of the nearest-upsampled scores, KL `batchmean` over rows and
// MSE a mean over all T×T entries. Because every key of a bin gets the same score, both terms depend on
// the teacher only through its mass per bin M_b, the bin sizes n_b and two teacher-only constants per row
// (Σ_j P_j log P_j and Σ_j P_j²); binned_attention_loss evaluates them exactly in O(K) per row.
#pragma once

#include <cstddef>

namespace sb::train {

/// KL(p ‖ q) = Σ p_i·log(p_i/q_i) over n entries (p_i = 0 contributes 0). dq (nullable) = ∂/∂q = −p/q.
double kl_divergence(const float* p, const float* q, int n, float* dq);
/// Mean squared error (1/n)·Σ (a_i − b_i)²; da (nullable) = ∂/∂a = 2(a − b)/n.
double mean_squared_error(const float* a, const float* b, std::size_t n, float* da);

/// The teacher side of one query row, pooled to K bins.
struct binned_teacher_row {
  const float* mass;       ///< [K] teacher mass per bin (sums to 1 over non-empty bins)
  const int* bin_sizes;    ///< [K] keys per bin (0 = empty bin: its score is never used)
  double p_log_p;          ///< Σ_j P_j·log P_j over the row's keys
  double p_squared;        ///< Σ_j P_j²
};

/// Weights of the two terms; the official ones by default.
struct attention_loss_weights {
  double kl = 0.1;
  double mse = 1.0;
};

/// Row terms of the official loss for scores s [K]: kl = KL(P ‖ Q) and sse = Σ_j (Q_j − P_j)², where key j
/// of bin b has Q_j = exp(s_b)/Σ_c n_c·exp(s_c). When ds is non-null it receives
/// ∂(w.kl·kl·kl_scale + w.mse·sse·sse_scale)/∂s (empty bins get 0).
struct row_loss {
  double kl = 0, sse = 0;
};
row_loss binned_attention_loss(const float* s, int K, const binned_teacher_row& teacher, double kl_scale,
                               double sse_scale, const attention_loss_weights& w, float* ds);

}  // namespace sb::train
