// SEA's own estimator (`estimator = performer`, sea-algorithm.md §3–§5): a Performer over
// V_concat = [position basis | V] (FAVOR+ softmax kernel non-causal, ReLU kernel causal, favor.hpp), the
// token-wise encoder Linear(3d→2d) → LayerNorm → GELU, the gate head Linear(2d→2), the row decoder
// Linear(2d→(K/ds)·s) split into s channels per head, and the 2-D CNN over [H·s, T, K/ds] that mixes heads:
//   non-causal (s=4, ds=2): conv 3×3 stride (2,1) + ReLU, conv 3×3 + ReLU, nearest ×(2,1), conv 3×3 → H,
//                           bilinear resize to (T, K);
//   causal     (s=2, ds=4): LayerNorm(K/4), causal conv 3×3 dil 2 + ReLU (×2), nearest ×(1,4),
//                           conv 1×1 → H with width pad 1, area resize to (T, K), LayerNorm(K).
// Then Â = softmax over K. Weights come from a safetensors file (docs/sea-weights.md) or are seeded random.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attention_variants/performer/favor.hpp"
#include "attention_variants/sea/estimators.hpp"
#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"
#include "harness/io/safetensors.hpp"

namespace sb::sea {

using io::host_tensor;
using io::safetensors_file;
using io::shape_string;

/// Rows of the random-init causal position table (OPT's max_position_embeddings).
inline constexpr int default_position_rows = 2048;

/// Row-decoder split: s channels of width K/ds per head (§4).
struct decoder_split {
  int channels;   ///< s: 4 non-causal, 2 causal
  int downscale;  ///< ds: 2 non-causal, 4 causal
};
[[nodiscard]] decoder_split row_decoder_split(bool causal);

/// One tensor of the weights file: its name and the shape the case needs (−1 = any size: the causal
/// position table's row count).
struct weight_spec {
  std::string name;
  std::vector<std::int64_t> shape;
};
/// Every tensor `estimator = performer` reads for this problem and K, in file order.
[[nodiscard]] std::vector<weight_spec> performer_weight_specs(const problem& p, const config& c);

/// The estimator's parameters, convolution kernels repacked to their active taps ([cout, cin, kt, kw]).
struct performer_weights {
  bool trained = false;
  favor::projection projection;          ///< [m, d]
  int position_rows = 0;                 ///< causal: rows of the learned table
  std::vector<float> position_table;     ///< causal: [position_rows, d]
  std::vector<float> enc_w, enc_b;       ///< [2d, 3d], [2d]
  std::vector<float> enc_gamma, enc_beta;
  std::vector<float> row_w, row_b;       ///< [(K/ds)·s, 2d], [(K/ds)·s]
  std::vector<float> gate_w, gate_b;     ///< [2, 2d], [2]
  std::vector<float> conv1_w, conv1_b, conv2_w, conv2_b, conv3_w, conv3_b;
  std::vector<float> norm1_gamma, norm1_beta, norm2_gamma, norm2_beta;  ///< causal: LayerNorm(K/4), LayerNorm(K)
};

/// Read the weights for (p, c) from a safetensors file: sb::data_error naming any missing or wrongly
/// shaped tensor. The causal convolutions accept the official 5-tap layout [2H, 2H, 5, 3] (taps 3 and 4
/// are masked to zero there and ignored here) or the 3 active taps [2H, 2H, 3, 3].
[[nodiscard]] performer_weights load_performer_weights(const std::string& path, const problem& p, const config& c);
/// Seeded random weights (PyTorch default initialisation) from counter_rng(seed, rng_stream::weights);
/// the projection from counter_rng(seed, rng_stream::features) as for every Performer.
[[nodiscard]] performer_weights random_performer_weights(const problem& p, const config& c);
/// The weights as file tensors (the layout load_performer_weights reads; causal convs as 3 active taps).
[[nodiscard]] std::map<std::string, host_tensor> performer_weight_tensors(const performer_weights& w,
                                                                         const problem& p, const config& c);

[[nodiscard]] std::unique_ptr<estimator> make_performer_estimator(const problem& p, const config& c);
[[nodiscard]] std::size_t performer_estimator_scratch_bytes(const problem& p, const config& c);
[[nodiscard]] double performer_estimator_flops(const problem& p, const config& c);

/// Non-causal position basis (§3): row t of [T, cols] is a tent at r = t·(cols−1)/(T−1).
void tent_basis_row(int t, int seq_len, int cols, float* row);

}  // namespace sb::sea
