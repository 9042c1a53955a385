// SEA stage 4 on CUDA: sparse attention on the FlatCSR (sparse_attention.hpp), two implementations
// selected by the `sparse_impl` parameter, both computing per (query, head) segment
// o = σ(s0)·Σ_j softmax_j(τ·q·k_j)·v_j over that head's keys only (σ(s0) = 1 without gates; an empty
// segment outputs 0), with fp32 accumulation and the output in the case dtype:
//   fused     one warp per segment gathers each selected key and value once: lane-per-key scores
//             (16-byte loads of the key row), an online softmax over 32-key batches, then lane-per-dim
//             accumulation of the values (coalesced rows). No scores are stored.
//   cusparse  the textbook pipeline on per-(batch, head) CSR views of the support: a head-major copy of
//             the FlatCSR (scan of segment lengths + gather), cusparseSDDMM (fp32 scores), a row-softmax
//             kernel writing P in the case dtype, cusparseSpMM (O = P·V). cuSPARSE needs each view's nnz on
//             the host, so this path synchronises the stream once per call (part of its measured cost).
//             Should cuSPARSE reject half-precision SDDMM inputs (NOT_SUPPORTED), the view's Q and K are
//             widened to fp32 scratch first, from then on.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include <cuda_runtime_api.h>

#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"

namespace sb::sea::gpu {

/// Device pointers of a FlatCSR (flat_csr_cuda.hpp's device_flat_csr or an uploaded CPU one).
struct csr_view {
  const std::int64_t* row_ptr = nullptr;  ///< B·T + 1
  const std::int32_t* hoff = nullptr;     ///< B·T·(H+1)
  const std::int32_t* col = nullptr;
};

/// Largest head_dim the sparse kernels take (8 fp32 accumulators per lane).
inline constexpr int max_sparse_head_dim = 256;

/// The fused kernel. q, k, v, out: device [B, H, T, D] in p.type; gates: device [B, H, Te, 2] logits or null.
void sparse_attend_fused(const problem& p, const config& c, const void* q, const void* k, const void* v,
                         csr_view csr, const float* gates, void* out, cudaStream_t stream);

/// The cuSPARSE implementation; owns its cuSPARSE handle (made once, at instantiate()).
class cusparse_attention {
 public:
  cusparse_attention();
  ~cusparse_attention();
  cusparse_attention(const cusparse_attention&) = delete;
  cusparse_attention& operator=(const cusparse_attention&) = delete;
  /// Same contract as sparse_attend_fused. Throws sb::unsupported_case when one (batch, head) view holds
  /// 2^31 or more keys (cuSPARSE views use 32-bit offsets).
  void run(const problem& p, const config& c, const void* q, const void* k, const void* v, csr_view csr,
           const float* gates, void* out, cudaStream_t stream);

 private:
  void* m_handle = nullptr;    // cusparseHandle_t (kept out of this header)
  bool m_widen_sddmm = false;  // this cuSPARSE rejected half-precision SDDMM inputs: widen Q, K to fp32
};

}  // namespace sb::sea::gpu

#endif  // SEABENCH_HAVE_CUDA
