// sinkhorn on CUDA: summaries → block selection (pooled top-n, or Sinkhorn-balanced) → block attention,
// every (batch, head) at once (block_sort_cuda.hpp). Workspace from the device pool per call.
#include "attention_variants/sinkhorn/sinkhorn_cuda.hpp"

#include <algorithm>

#include "attention_variants/sparse_common/sparse_attend.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include <cuda_runtime.h>

#include "attention_variants/sinkhorn/block_sort_cuda.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"
#endif

namespace sb::block_sort {

void row_keys_from_selection(const config& cfg, const std::int32_t* sel, int i, std::vector<std::int32_t>& keys) {
  keys.clear();
  const int a = i / cfg.block;
  const int own_end = cfg.causal ? i + 1 : cfg.block_end(a);
  for (int j = cfg.block_begin(a); j < own_end; ++j) keys.push_back(j);
  for (int s = 0; s < cfg.n_select(a); ++s)
    for (int j = cfg.block_begin(sel[s]); j < cfg.block_end(sel[s]); ++j) keys.push_back(j);
  std::sort(keys.begin(), keys.end());
}

#ifdef SEABENCH_HAVE_CUDA

namespace {

std::size_t stride_of(const config& cfg) { return static_cast<std::size_t>(std::max(1, cfg.max_select())); }
std::size_t matrix_elems(const problem& p, const config& cfg) {
  const std::size_t nb = cfg.n_blocks();
  return cfg.sort == method::pooled_sinkhorn ? static_cast<std::size_t>(p.batch) * p.heads * nb * nb : 0;
}

/// A pair of CUDA events (created once per instance).
class event_pair {
 public:
  event_pair() {
    SB_CUDA_CHECK(cudaEventCreate(&m_start));
    SB_CUDA_CHECK(cudaEventCreate(&m_end));
  }
  event_pair(const event_pair&) = delete;
  event_pair& operator=(const event_pair&) = delete;
  ~event_pair() {
    cudaEventDestroy(m_start);
    cudaEventDestroy(m_end);
  }
  cudaEvent_t start() const { return m_start; }
  cudaEvent_t end() const { return m_end; }

 private:
  cudaEvent_t m_start = nullptr, m_end = nullptr;
};

class sinkhorn_cuda_instance final : public attention_instance {
 public:
  sinkhorn_cuda_instance(const problem& p, const config& cfg) : m_p(p), m_cfg(cfg) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const cudaStream_t stream = cuda::context::instance().stream();
    const int nb = m_cfg.n_blocks(), d = m_p.head_dim;
    const std::size_t heads = static_cast<std::size_t>(m_p.batch) * m_p.heads;
    cuda_kernels::shape s;
    s.q = in.q;
    s.k = in.k;
    s.v = in.v;
    s.out = out;
    s.type = m_p.type;
    s.heads_total = static_cast<int>(heads);
    s.t = m_p.seq_len;
    s.d = d;
    s.block = m_cfg.block;
    s.nb = nb;
    s.n_sorted = m_cfg.n_sorted;
    s.max_select = static_cast<int>(stride_of(m_cfg));
    s.causal = m_cfg.causal;
    s.scale = m_cfg.scale;

    const bool report = ctx.support != nullptr;  // the untimed call: stage timing and host copies
    cuda::device_buffer<float> qbar(heads * nb * d, stream), kbar(heads * nb * d, stream);
    cuda::device_buffer<std::int32_t> selected(heads * nb * stride_of(m_cfg), stream);
    cuda::device_buffer<float> matrix(std::max<std::size_t>(1, matrix_elems(m_p, m_cfg)), stream);
    if (report) SB_CUDA_CHECK(cudaEventRecord(m_events.start(), stream));
    cuda_kernels::launch_summaries(s, qbar.data(), kbar.data(), stream);
    if (m_cfg.sort == method::pooled_sinkhorn)
      cuda_kernels::launch_select_sinkhorn(s, qbar.data(), kbar.data(), m_cfg.temperature, m_cfg.iters, matrix.data(),
                                           selected.data(), stream);
    else
      cuda_kernels::launch_select_pooled(s, qbar.data(), kbar.data(), selected.data(), stream);
    if (report) SB_CUDA_CHECK(cudaEventRecord(m_events.end(), stream));
    cuda_kernels::launch_block_attend(s, selected.data(), stream);
    if (!report) return;

    SB_CUDA_CHECK(cudaEventSynchronize(m_events.end()));
    float ms = 0;
    SB_CUDA_CHECK(cudaEventElapsedTime(&ms, m_events.start(), m_events.end()));
    ctx.extras["sinkhorn_sort_ms"] = ms;
    std::vector<std::int32_t> sel(selected.size());
    SB_CUDA_CHECK(cudaMemcpyAsync(sel.data(), selected.data(), selected.bytes(), cudaMemcpyDeviceToHost, stream));
    std::vector<float> balanced(matrix_elems(m_p, m_cfg));
    if (!balanced.empty())
      SB_CUDA_CHECK(cudaMemcpyAsync(balanced.data(), matrix.data(), balanced.size() * sizeof(float),
                                    cudaMemcpyDeviceToHost, stream));
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (m_cfg.sort == method::pooled_sinkhorn) {
      double err = 0;
      const std::size_t n2 = static_cast<std::size_t>(nb) * nb;
      if (nb > 1)
        for (std::size_t bh = 0; bh < heads; ++bh) err = std::max(err, balance_error(balanced.data() + bh * n2, nb));
      ctx.extras["sinkhorn_balance_err"] = err;
    }
    sparse::clear_support(*ctx.support);
    std::vector<std::int32_t> keys;
    for (std::size_t bh = 0; bh < heads; ++bh)
      for (int i = 0; i < m_p.seq_len; ++i) {
        const int a = i / m_cfg.block;
        row_keys_from_selection(m_cfg, sel.data() + (bh * nb + a) * stride_of(m_cfg), i, keys);
        sparse::append_support_row(*ctx.support, keys);
      }
  }

 private:
  problem m_p;
  config m_cfg;
  event_pair m_events;
};

}  // namespace

std::unique_ptr<attention_instance> make_cuda_instance(const problem& p, const config& cfg) {
  return std::make_unique<sinkhorn_cuda_instance>(p, cfg);
}

std::size_t cuda_workspace_bytes(const problem& p, const config& cfg) {
  const std::size_t heads = static_cast<std::size_t>(p.batch) * p.heads, nb = cfg.n_blocks();
  return 2 * heads * nb * p.head_dim * sizeof(float) + heads * nb * stride_of(cfg) * sizeof(std::int32_t) +
         std::max<std::size_t>(1, matrix_elems(p, cfg)) * sizeof(float);
}

#endif  // SEABENCH_HAVE_CUDA

}  // namespace sb::block_sort
