// sinkhorn on CUDA (sinkhorn_cuda.cpp): the instance sinkhorn_variant::instantiate returns for
// device_kind::cuda, and the host-side support rule shared with its test.
#pragma once

#include <cstdint>
#include <vector>

#include "attention_variants/sinkhorn/block_sort.hpp"
#include "harness/core/variant.hpp"

namespace sb::block_sort {

/// Keys of row i given its query block's selection `sel` (n_select(a) blocks): the own block (causal
/// j ≤ i) and the selected blocks, sorted ascending; the same set as row_keys on the CPU.
void row_keys_from_selection(const config& cfg, const std::int32_t* sel, int i, std::vector<std::int32_t>& keys);

}  // namespace sb::block_sort

#ifdef SEABENCH_HAVE_CUDA

#include <memory>

namespace sb::block_sort {

/// run() takes device pointers in p.type and enqueues on the CUDA context's stream. On the call that
/// asks for the support it also reports sinkhorn_sort_ms (CUDA events around the summaries and the
/// selection) and, for pooled_sinkhorn, sinkhorn_balance_err from the balanced matrices.
[[nodiscard]] std::unique_ptr<attention_instance> make_cuda_instance(const problem& p, const config& cfg);

/// Device bytes one call allocates besides the output: summaries, selection, Sinkhorn matrices.
[[nodiscard]] std::size_t cuda_workspace_bytes(const problem& p, const config& cfg);

}  // namespace sb::block_sort

#endif  // SEABENCH_HAVE_CUDA
