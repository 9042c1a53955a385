// The structured dataset's generator, exposed so that tests and tools can ask where its heavy
// hitters are. The formulas are in structured.cpp and docs/datasets.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/types.hpp"

namespace sb::datasets {

/// The resolved options of one structured dataset point.
struct structured_options {
  std::string preset = "local";  ///< local | heavy_hitter | mixed
  double length_scale = 0;       ///< ℓ: width (in positions) of the local kernel exp(-Δ²/2ℓ²)
  double local_strength = 0;     ///< s_L: target log-odds of the near-diagonal keys against all others
  double hitter_strength = 0;    ///< s_H: target log-odds of the hitter keys against all others
  int hitters = 0;               ///< n_h: hitter keys per head
  double hitter_span = 0;        ///< hitters lie in positions [0, ceil(hitter_span · T))
  double noise = 0;              ///< σ: iid N(0, σ²) added to every Q and K element
};

/// Parse a canonical structured options object (as returned by expand()). Throws sb::config_error.
[[nodiscard]] structured_options structured_options_of(const nlohmann::json& options);

/// The hitter key positions of head `head` (= b · H + h) for a sequence of seq_len, sorted ascending.
/// Empty for the local preset.
[[nodiscard]] std::vector<int> structured_hitter_positions(const structured_options& o, std::uint64_t seed,
                                                           std::uint64_t head, int seq_len);

/// β_L: the logit gap of the diagonal key over a far key for this shape (grows with log T so that
/// the near-diagonal share of the mass stays about the same at every T; formula in structured.cpp).
[[nodiscard]] double structured_local_gap(const structured_options& o, int seq_len, int head_dim);
/// β_H = max(0, s_H + ln(T / n_h)): the logit gap of a hitter key over the others for this shape.
[[nodiscard]] double structured_hitter_gap(const structured_options& o, int seq_len);
/// m: the number of head dims that carry position features (the rest carry the hitter direction).
[[nodiscard]] int structured_position_dims(int head_dim);

}  // namespace sb::datasets
