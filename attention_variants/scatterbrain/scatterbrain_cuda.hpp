// scatterbrain on CUDA (scatterbrain_cuda.cpp, scatterbrain_kernels.cu): the instance
// scatterbrain_variant::instantiate returns for device_kind::cuda. Random parts are the CPU's: the
// LSH rotations (lsh::draw_rotations) and the Performer projection (favor::draw_projection), drawn on
// the host from the case seed and uploaded once.
//   combine = sum: the reformer CUDA instance and the performer CUDA instance, each on its own
//     output, added element-wise (in the case dtype; each part is rounded to it first).
//   combine = corrected: the reformer's hash + segmented sort (lsh_cuda.hpp), the Performer's
//     stabilised softmax features (performer_cuda.hpp's kernels) and their unnormalised sums per row
//     (linear_cuda::attend_sums), then one warp per row corrects them over its LSH support
//     (scatterbrain_kernels.cu; the formulas of corrected.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "attention_variants/performer/favor.hpp"
#include "attention_variants/reformer/lsh.hpp"
#include "harness/core/variant.hpp"

namespace sb::scatterbrain_cuda {

/// What the CUDA instance needs of the variant's configuration.
struct settings {
  bool corrected = false;
  lsh::config lsh;
  int features = 0;  ///< Performer m
  favor::kernel_kind kernel = favor::kernel_kind::softmax;
  favor::row_norms norms = favor::row_norms::chi;
};

}  // namespace sb::scatterbrain_cuda

#ifdef SEABENCH_HAVE_CUDA

#include <memory>

#include <cuda_runtime_api.h>

namespace sb::scatterbrain_cuda {

/// Device bytes one call allocates above the inputs at its peak, output included (cub's sort scratch
/// excluded: cub sizes it at run time, small next to the index). Host code, CUDA builds.
[[nodiscard]] std::size_t memory_bytes(const problem& p, const settings& s);

[[nodiscard]] std::unique_ptr<attention_instance> make_instance(const problem& p, const settings& s);

/// Device pointers of one corrected launch over `heads` = B·H heads. q, k, v, out: [heads, T, D] in
/// `type`; phi_q, phi_k: [heads, T, m] fp32 features; q_stab: [heads·T] query stabilisers c_i; key_ref:
/// causal [heads·T] running key maxima r_j, non-causal [heads] key constants c_K; num [heads·T, D] and
/// den [heads·T]: the Performer's unnormalised sums (relative to the same references); sorted, chunk_of:
/// the LSH index (lsh_cuda.hpp's layout); pairs: one counter, += Σ |S_i|.
struct corrected_args {
  lsh::config lsh;
  std::int64_t heads = 0;
  int features = 0;
  dtype type = dtype::fp32;
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  const float* phi_q = nullptr;
  const float* phi_k = nullptr;
  const float* q_stab = nullptr;
  const float* key_ref = nullptr;
  const float* num = nullptr;
  const float* den = nullptr;
  const std::int32_t* sorted = nullptr;
  const std::int32_t* chunk_of = nullptr;
  void* out = nullptr;
  unsigned long long* pairs = nullptr;
};

/// The corrected rows (scatterbrain_kernels.cu). Throws std::invalid_argument for D outside 1 … 256.
void launch_corrected(const corrected_args& a, cudaStream_t stream);

/// out[x] += other[x] for n elements of `type`, summed in fp32.
void launch_add(void* out, const void* other, dtype type, std::size_t n, cudaStream_t stream);

}  // namespace sb::scatterbrain_cuda

#endif  // SEABENCH_HAVE_CUDA
