// SEA on CUDA: the data-independent part of a case, computed on the host once per instance (at
// instantiate) so the device never waits on the host inside run(): the selection's row offsets (the
// per-row budgets of topk.hpp do not depend on Â), the total number of selected cells, and a bound on the
// FlatCSR's key count (each row's cells times the largest kept size of any of its non-empty bins), which
// sizes `col` before the count pass has run. Host-only and compiled in every build, so the CPU tests
// check it against the CPU stages.
#pragma once

#include <cstdint>
#include <vector>

#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"

namespace sb::sea {

struct device_plan {
  std::vector<std::int64_t> selection_row_ptr;  ///< B·T + 1: row r's cells are [row_ptr[r], row_ptr[r+1])
  std::int64_t cells = 0;                       ///< selection_row_ptr[B·T]
  std::int64_t max_nnz = 0;                     ///< ≥ the FlatCSR's nnz for any Â
};

/// Largest cell_keep() over the non-empty bins of a row of L visible keys.
[[nodiscard]] int max_cell_keep(const config& c, int L);

/// The plan of (p, c). Throws sb::unsupported_case for topk_mode = batch (its rows depend on the data).
[[nodiscard]] device_plan make_device_plan(const problem& p, const config& c);

}  // namespace sb::sea
