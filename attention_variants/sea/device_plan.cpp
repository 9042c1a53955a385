#include "attention_variants/sea/device_plan.hpp"

#include <algorithm>

#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/topk.hpp"
#include "harness/core/errors.hpp"

namespace sb::sea {

int max_cell_keep(const config& c, int L) {
  int span = 0;
  if (c.upsample == upsample_mode::csr) {
    // round(x + L/K) − round(x) ≤ ceil(L/K) for every bin of the csr partition.
    span = (L + c.K - 1) / c.K;
  } else {
    std::vector<int> bounds(static_cast<std::size_t>(c.K) + 1);
    row_bounds(c.upsample, L, c.K, bounds.data());
    for (int b = 0; b < c.K; ++b) span = std::max(span, bounds[b + 1] - bounds[b]);
  }
  return cell_keep(c.upsample, span, c.k, c.k_oversample);
}

device_plan make_device_plan(const problem& p, const config& c) {
  if (c.topk == topk_mode::batch)
    throw unsupported_case("sea on CUDA: topk_mode=batch (one selection over a whole sample) is not implemented "
                           "on the GPU; use causal_batch or query, or the CPU");
  device_plan plan;
  const std::size_t rows = static_cast<std::size_t>(p.batch) * p.seq_len;
  plan.selection_row_ptr.resize(rows + 1);
  plan.cells = per_row_offsets(p, c, plan.selection_row_ptr.data());
  const int T = p.seq_len;
  const int full_keep = p.causal ? 0 : max_cell_keep(c, T);  // every non-causal row has L = T
  for (std::size_t r = 0; r < rows; ++r) {
    const int t = static_cast<int>(r % T);
    const int keep = p.causal ? max_cell_keep(c, t + 1) : full_keep;
    plan.max_nnz += (plan.selection_row_ptr[r + 1] - plan.selection_row_ptr[r]) * keep;
  }
  return plan;
}

}  // namespace sb::sea
