// The OPT forward pass on the GPU: the same network as opt_forward (opt_forward.hpp) with every
// projection a cuBLAS fp32 GEMM (TF32 only when cuda::context allows it), the small kernels of
// opt_kernels.cu between them, and each attention layer either exact causal softmax attention
// (two strided-batched GEMMs around a causal softmax) or the CUDA instance of a registered variant
// (instantiate(problem, params, device_kind::cuda)), fed device pointers in the [B = 1, H, T, D]
// layout with UNSCALED queries, as on the CPU. The weights are uploaded once (fp32) when the object
// is made; one window's activations come from the context's device pool.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "harness/core/variant.hpp"
#include "harness/model/opt_forward.hpp"
#include "harness/model/opt_weights.hpp"

namespace sb::model {

class opt_forward_cuda {
 public:
  /// Check the plan as opt_forward does, upload the weights and instantiate the variant's CUDA
  /// instance for each of its layers. Throws sb::config_error (bad layer), sb::data_error (window
  /// too long), sb::unsupported_case (the variant has no CUDA implementation or refuses the
  /// problem), sb::out_of_memory (the device pool) or cuda::cuda_error.
  opt_forward_cuda(const opt_model& m, int seq_len, attention_plan plan);
  ~opt_forward_cuda();
  opt_forward_cuda(const opt_forward_cuda&) = delete;
  opt_forward_cuda& operator=(const opt_forward_cuda&) = delete;

  [[nodiscard]] int seq_len() const { return m_seq_len; }
  [[nodiscard]] bool uses_variant(int layer) const;

  /// Logits [seq_len, vocab] of one window of exactly seq_len ids, copied to the host.
  [[nodiscard]] std::vector<float> logits(std::span<const std::int32_t> window);
  /// Summed next-token negative log-likelihood (nats) over the window's seq_len − 1 predictions:
  /// each token's loss is an fp32 logsumexp on the device (logits in row blocks, not kept); the
  /// per-token losses are summed in double on the host.
  [[nodiscard]] double window_nll(std::span<const std::int32_t> window);

  /// Called with (layer, q, k, v), host copies [H, T, D] each, q unscaled, before that layer's
  /// attention runs (a device-to-host copy per layer while set).
  std::function<void(int, const float*, const float*, const float*)> on_attention_inputs;
  /// Extras of every variant call so far (run_variant_call).
  call_extras attention_extras;
  /// Variants that expose their support list it in the following calls (set for an untimed window).
  bool list_support = false;

 private:
  struct device_weights;
  struct buffers;
  /// Embed, run the layers, apply the final LayerNorm into the buffers' `h` [T, C] (on the device).
  void hidden_states(std::span<const std::int32_t> window, buffers& b);
  void check_window(std::span<const std::int32_t> window) const;
  /// Stream, workspace and math mode of the shared cuBLAS handle (a variant's run may change them).
  void bind_cublas();
  /// out[rows, n] = x[rows, k] · Wᵀ (+ out when accumulate), W [n, k] on the device.
  void gemm_xwt(int rows, int n, int k, const float* x, const float* w, float* out, bool accumulate);
  void exact_attention(int T, const float* q, const float* k, const float* v, float* scores, float* out);

  const opt_model& m_model;
  int m_seq_len;
  attention_plan m_plan;
  std::unique_ptr<device_weights> m_weights;
  std::vector<std::unique_ptr<attention_instance>> m_instances;  ///< per layer; null = exact
};

}  // namespace sb::model

#endif  // SEABENCH_HAVE_CUDA
