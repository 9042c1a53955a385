// reformer on CUDA (reformer_cuda.cpp): the instance reformer_variant::instantiate returns for
// device_kind::cuda, and the host-side support rule it shares with its test.
#pragma once

#include <cstdint>
#include <vector>

#include "attention_variants/reformer/lsh.hpp"
#include "harness/core/variant.hpp"

namespace sb::lsh {

/// lsh::row_keys from a copied index of one head: sorted [n_hashes, T] and chunk_of [T, n_hashes].
void row_keys_from_index(const config& cfg, const std::int32_t* sorted, const std::int32_t* chunk_of, int i,
                         std::vector<std::int32_t>& keys);

}  // namespace sb::lsh

#ifdef SEABENCH_HAVE_CUDA

#include <memory>

namespace sb::lsh {

/// Rotations drawn on the host (draw_rotations, the CPU's numbers) and uploaded here. run() takes
/// device pointers in p.type; on the call that asks for the support it also reports
/// reformer_index_ms (CUDA events around hashing and sorting) and copies the index back.
[[nodiscard]] std::unique_ptr<attention_instance> make_cuda_instance(const problem& p, const config& cfg);

/// Device bytes one call allocates besides the output (cub's temp storage excluded: it is queried
/// from cub at run time and is small next to the index).
[[nodiscard]] std::size_t cuda_workspace_bytes(const problem& p, const config& cfg);

}  // namespace sb::lsh

#endif  // SEABENCH_HAVE_CUDA
