// SEA's learned estimator (`estimator = performer`, learned_estimator.hpp) as a trainable module for
// attention distillation (docs/distill.md): the same forward, op for op (so Â is bit-identical to the
// inference estimator's for the same weights), keeping the activations, and a hand-written backward
// through the CNN decoder, row decoder, encoder and (causal) the learned position table, whose gradient
// flows back through the Performer (linear in V_concat; the random projection stays fixed). The gates
// are not part of Â, so the attention losses give them no gradient: they are not trained here.
// One sample (problem.batch = 1) per call, all heads at once (the CNN mixes heads).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "attention_variants/sea/learned_estimator.hpp"
#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb::sea::distill {

/// The tensors distillation trains, by their weights-file names (docs/sea-weights.md): everything in
/// `w` except `performer.projection` (fixed random features) and `gates.*` (no gradient from Â).
[[nodiscard]] std::vector<std::pair<std::string, std::vector<float>*>> trainable_tensors(performer_weights& w,
                                                                                        bool causal);
/// A copy of w with every trainable tensor zero-filled (a gradient accumulator).
[[nodiscard]] performer_weights zeros_like(const performer_weights& w, bool causal);

class trainable_estimator {
 public:
  /// p.batch must be 1 and c.query_skip 1 (sb::unsupported_case otherwise).
  trainable_estimator(const problem& p, const config& c);

  /// Scores Ŝ [H, T, K] before the softmax over K (Â = sea::softmax_row of each row, as the inference
  /// estimator does). Keeps the activations the next backward() needs.
  void forward(qkv_view in, const performer_weights& w, float* scores);
  /// grads += ∂L/∂θ for the trainable tensors, given dscores = ∂L/∂Ŝ [H, T, K]. Uses the activations of
  /// the preceding forward() (same in, same w).
  void backward(qkv_view in, const performer_weights& w, const float* dscores, performer_weights& grads);

  [[nodiscard]] const problem& prob() const { return m_p; }
  [[nodiscard]] const config& cfg() const { return m_c; }

 private:
  struct activations {
    std::vector<float> x, zpre, zln, act;  ///< per head: encoder input [T,3d], linear out, LN out, GELU out [T,2d]
    std::vector<float> img0, img0n;        ///< CNN input [C,T,W0] (causal: before and after LayerNorm(K/4))
    std::vector<float> a1, a2, a3;         ///< conv outputs (a1, a2 after ReLU)
    std::vector<float> pre_norm2;          ///< causal: area-resized rows before LayerNorm(K) [H,T,K]
  };
  void encode(qkv_view in, const performer_weights& w);
  void run_cnn(const performer_weights& w, float* scores);
  void position_backward(qkv_view in, int h, const performer_weights& w, const float* dctx_pos, float* dtable) const;
  [[nodiscard]] int position_source(int t, const performer_weights& w) const;

  problem m_p;
  config m_c;
  int m_H, m_T, m_d, m_K, m_s, m_W0, m_R, m_C;
  activations m_act;
};

}  // namespace sb::sea::distill
