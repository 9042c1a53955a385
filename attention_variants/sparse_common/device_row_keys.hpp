// A row_key_pattern uploaded to the device (in instantiate(), so it is set-up, not part of a call's
// peak), and the attention over it: what window and BigBird run on CUDA.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include "attention_variants/sparse_common/row_key_pattern.hpp"
#include "attention_variants/sparse_common/sparse_attend_cuda.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/device_buffer.hpp"

namespace sb::sparse {

class device_row_keys {
 public:
  /// Copies `plan` to the device on the context's stream and waits for the copy.
  explicit device_row_keys(const row_key_pattern& plan);

  /// The key lists of every query row of `p` (i0 = 0, nq = T).
  [[nodiscard]] cuda_kernels::key_lists lists() const;

  /// out = attention of every row of `p` over its planned keys; device pointers in p.type, enqueued
  /// on the context's stream.
  void attend(const problem& p, qkv_view in, float* out) const;

 private:
  int m_t, m_patterns;
  cuda::device_buffer<std::int64_t> m_row_ptr;
  cuda::device_buffer<std::int32_t> m_cols;
};

/// The launch arguments for Q, K, V, O of `p` (device pointers in p.type).
[[nodiscard]] cuda_kernels::attend_args attend_args_for(const problem& p, qkv_view in, float* out);

}  // namespace sb::sparse

#endif  // SEABENCH_HAVE_CUDA
