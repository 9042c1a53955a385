// cuDNN's fused scaled-dot-product attention (forward, inference) through the cuDNN 9 backend API:
// the operation graph of the fused flash-attention pattern (as cudnn-frontend lowers its SDPA node for
// libraries before the unified SDPA operation), engine configurations from heuristics mode A, and the
// first execution plan that finalises.
//
//   S = Q·Kᵀ (matmul, fp32) → S·τ (pointwise MUL, τ by value)
//   [causal: row = GEN_INDEX(axis 2), col = GEN_INDEX(axis 3), keep = row ≥ col,
//            S = BINARY_SELECT(S, lowest float, keep)]
//   m = max_j S (reduction) → E = exp(S − m) → z = Σ_j E (reduction) → stats = m + log z (virtual)
//   P = E / z in the I/O type → O = P·V (matmul)
// Every intermediate is virtual: the engine fuses the graph or the plan does not finalise. Q, K, V, O
// are [B, H, T, D] row-major fp16 or bf16 (Kᵀ is K seen with swapped strides).
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <cudnn_graph.h>

#include "harness/core/types.hpp"

namespace sb::cudnn {

/// One backend descriptor, destroyed with its owner.
class descriptor {
 public:
  explicit descriptor(cudnnBackendDescriptorType_t type);
  descriptor(const descriptor&) = delete;
  descriptor& operator=(const descriptor&) = delete;
  descriptor(descriptor&& o) noexcept;
  descriptor& operator=(descriptor&& o) noexcept;
  ~descriptor();
  [[nodiscard]] cudnnBackendDescriptor_t get() const { return m_d; }

 private:
  cudnnBackendDescriptor_t m_d = nullptr;
};

struct sdpa_shape {
  std::int64_t batch = 1, heads = 1, t = 1, d = 1;
  dtype type = dtype::fp16;  ///< fp16 or bf16
  bool causal = false;
  float scale = 1.0f;  ///< τ
};

class sdpa_plan {
 public:
  /// Builds the graph and the plan on `handle`. Throws sb::unsupported_case with cuDNN's reason when
  /// the graph is rejected or no engine configuration finalises (e.g. a head dim the fused kernels lack).
  sdpa_plan(cudnnHandle_t handle, const sdpa_shape& shape);
  [[nodiscard]] std::int64_t workspace_bytes() const { return m_workspace_bytes; }
  /// Engine configurations the heuristics offered, and why the ones before the chosen one failed.
  [[nodiscard]] const std::string& selection_log() const { return m_log; }
  /// Enqueues O = SDPA(Q, K, V) on the handle's stream. Throws std::runtime_error on a cuDNN failure.
  void execute(cudnnHandle_t handle, const void* q, const void* k, const void* v, void* o, void* workspace);

 private:
  std::deque<descriptor> m_keep;  ///< the graph's descriptors, alive as long as the plan (stable addresses)
  descriptor m_plan{CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR};
  std::int64_t m_workspace_bytes = 0;
  std::string m_log;
  float m_scale = 1.0f;
  float m_lowest = 0.0f;
  bool m_causal = false;
  // The variant pack is rebuilt only when the buffers change (the timed calls reuse it).
  std::vector<descriptor> m_pack;
  const void* m_last[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
};

}  // namespace sb::cudnn

#endif  // SEABENCH_HAVE_CUDA
