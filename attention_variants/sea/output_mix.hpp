// SEA stage 5: the output mix (sea-algorithm.md §10), used when output = mix (trained gates only):
//   o ← σ(s1)·o_sparse + (1 − σ(s1))·avg,
// avg = the running mean of V, Σ_{j≤t} v_j / (t+1), when causal; when non-causal, Σ_j w_j·v_j with w the
// query-mean of Â spread nearest-wise over each bin's keys (every key of bin b gets mean_t Â_tb, the
// official dense upsampling) and renormalised to sum 1 (the reference's renormalisation is UNCONFIRMED;
// docs/sea.md). The head merge and out_proj belong to the model, not to the attention call.
#pragma once

#include <cstddef>

#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb::sea {

/// w [B, H, K] = mean over the Te estimator rows of Â [B, H, Te, K] (non-causal average weights).
void query_mean(const problem& p, const config& c, const float* ahat, float* w);

/// Blend `out` (the sparse output, [B, H, T, D]) in place. gates: [B, H, Te, 2] logits (s1 used);
/// mean_ahat: query_mean() output (read when non-causal).
void output_mix(const problem& p, const config& c, qkv_view in, const float* gates, const float* mean_ahat, float* out);

/// Tracked scratch bytes of output_mix.
[[nodiscard]] std::size_t output_mix_bytes(const problem& p, const config& c);

}  // namespace sb::sea
