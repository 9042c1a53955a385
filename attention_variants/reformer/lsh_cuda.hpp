// reformer's LSH attention on CUDA (lsh.cu; callable from host C++ without nvcc). Same rules as the
// CPU (lsh.hpp), every (batch, head) and round at once:
//   1. hash: one warp per position, bucket = argmax over [x·R_r ; −x·R_r] (first maximum wins) with
//      the rotations drawn on the host by lsh::draw_rotations and uploaded as fp32;
//   2. sort: cub's segmented radix sort of (bucket, position) pairs, one segment per (head, round),
//      stable, so positions stay ascending within a bucket — the CPU's counting sort order;
//   3. attend: one warp per query row walks its rounds; in each, the keys of its own and the previous
//      chunk (causal j ≤ i), keys k̂_j = q_j/‖q_j‖ (‖·‖ in fp64 as the CPU), its own key at the self
//      score, dedup's −log(#rounds sharing the pair), an online softmax, and the rounds combined in the
//      CPU's convex logsumexp form.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

#include "attention_variants/reformer/lsh.hpp"
#include "harness/core/types.hpp"

namespace sb::lsh::cuda_kernels {

struct index_buffers {
  std::int32_t* keys[2];    ///< bucket double buffer, [B·H·n_hashes·T] each
  std::int32_t* values[2];  ///< position double buffer, same size
  std::int32_t* offsets;    ///< [B·H·n_hashes + 1] segment offsets
  void* temp;               ///< cub temp storage
  std::size_t temp_bytes;
};

/// cub's temp storage for `segments` segments of `seq_len` items each, keys below n_buckets (the same
/// arguments build_index sorts with).
[[nodiscard]] std::size_t sort_temp_bytes(int segments, int seq_len, int n_buckets);

/// Hash and sort: on return (stream-ordered) *sorted points at [B·H, n_hashes, T] positions sorted by
/// (bucket, position) (one of buf.values), and chunk_of holds [B·H, T, n_hashes] chunk ids.
void build_index(const config& cfg, int heads_total, const void* q, dtype type, const float* rotations,
                 index_buffers& buf, const std::int32_t** sorted, std::int32_t* chunk_of, cudaStream_t stream);

/// inv_norm [B·H·T] = 1/max(‖q_j‖, 1e-12).
void inverse_norms(const config& cfg, int heads_total, const void* q, dtype type, float* inv_norm,
                   cudaStream_t stream);

/// out [B, H, T, D] (type) from the index.
void attend(const config& cfg, int heads_total, const void* q, const void* v, dtype type, const std::int32_t* sorted,
            const std::int32_t* chunk_of, const float* inv_norm, void* out, cudaStream_t stream);

}  // namespace sb::lsh::cuda_kernels

#endif  // SEABENCH_HAVE_CUDA
