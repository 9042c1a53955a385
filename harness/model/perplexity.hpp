// Perplexity of an OPT checkpoint over non-overlapping windows of a token stream (the SEA paper's
// Wikitext-2 protocol): each window of T tokens starts fresh (no carried context, no BOS added) and
// contributes its T − 1 next-token predictions; a tail shorter than T is dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <span>
#include <vector>

#include "harness/core/types.hpp"
#include "harness/model/opt_forward.hpp"

namespace sb::model {

/// The first `max_windows` (0 = all) non-overlapping windows of `seq_len` ids. Throws sb::data_error
/// when the ids hold fewer than seq_len tokens.
[[nodiscard]] std::vector<std::span<const std::int32_t>> non_overlapping_windows(std::span<const std::int32_t> ids,
                                                                                 int seq_len, int max_windows);

struct perplexity_result {
  double nll_sum = 0;           ///< nats over every evaluated prediction
  std::int64_t tokens = 0;      ///< predictions evaluated: windows · (T − 1)
  int windows = 0;
  std::vector<double> window_ms;  ///< wall time of each window's whole forward pass (embedding to loss)
  std::size_t peak_bytes = 0;   ///< largest tracked-memory high-water mark of one forward, above what was live before
  /// Each variant extra (and keys_per_query) as the mean over every variant call: windows × layers.
  std::map<std::string, double> extras;
  [[nodiscard]] double nll() const { return tokens ? nll_sum / static_cast<double>(tokens) : 0; }
  [[nodiscard]] double ppl() const;
};

/// Evaluate `plan` over the windows. The variant is instantiated once (untimed) and reused.
/// device_kind::cuda runs opt_forward_cuda (weights uploaded once, untimed); its peak_bytes is the
/// device pool's used high-water mark of one forward above what was live before (the weights), and
/// window_ms includes the upload of the window's ids and the read-back of its per-token losses.
/// cuda in a build without CUDA throws sb::unsupported_case.
[[nodiscard]] perplexity_result evaluate_perplexity(const opt_model& m, std::span<const std::int32_t> ids,
                                                    int seq_len, int max_windows, const attention_plan& plan,
                                                    device_kind device = device_kind::cpu);

}  // namespace sb::model
