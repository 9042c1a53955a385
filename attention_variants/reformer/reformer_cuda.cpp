// reformer on CUDA: inverse norms, hash + segmented sort + chunk index, multi-round attention, for
// every (batch, head) at once (lsh_cuda.hpp). The index buffers come from the device pool per call.
#include "attention_variants/reformer/reformer_cuda.hpp"

#include <algorithm>
#include <limits>

#include "attention_variants/sparse_common/sparse_attend.hpp"
#include "harness/core/errors.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include <cuda_runtime.h>

#include "attention_variants/reformer/lsh_cuda.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"
#endif

namespace sb::lsh {

void row_keys_from_index(const config& cfg, const std::int32_t* sorted, const std::int32_t* chunk_of, int i,
                         std::vector<std::int32_t>& keys) {
  keys.clear();
  for (int r = 0; r < cfg.n_hashes; ++r) {
    const std::int32_t* order = sorted + static_cast<std::size_t>(r) * cfg.seq_len;
    const int ch = chunk_of[static_cast<std::size_t>(i) * cfg.n_hashes + r];
    for (int which = 0; which < 2; ++which) {
      const int c = which == 0 ? ch : cfg.prev_chunk(ch);
      if (c < 0) continue;
      for (int s = cfg.chunk_begin(c); s < cfg.chunk_end(c); ++s) {
        const int j = order[s];
        if (j != i && (!cfg.causal || j <= i)) keys.push_back(j);
      }
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  if (keys.empty()) keys.push_back(i);
}

#ifdef SEABENCH_HAVE_CUDA

namespace {

std::size_t index_items(const problem& p, const config& cfg) {
  return static_cast<std::size_t>(p.batch) * p.heads * cfg.n_hashes * cfg.seq_len;
}

class reformer_cuda_instance final : public attention_instance {
 public:
  reformer_cuda_instance(const problem& p, const config& cfg)
      : m_p(p), m_cfg(cfg), m_rotations(std::max<std::size_t>(1, cfg.rotation_count())) {
    if (index_items(p, cfg) > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw unsupported_case("reformer on CUDA: B*H*n_hashes*T must fit in 32 bits (cub's item count)");
    std::vector<float> host(cfg.rotation_count());
    draw_rotations(cfg, p.seed, host.data());
    const cudaStream_t s = cuda::context::instance().stream();
    SB_CUDA_CHECK(cudaMemcpyAsync(m_rotations.data(), host.data(), host.size() * sizeof(float),
                                  cudaMemcpyHostToDevice, s));
    SB_CUDA_CHECK(cudaStreamSynchronize(s));
    const int segments = p.batch * p.heads * cfg.n_hashes;
    m_temp_bytes = cuda_kernels::sort_temp_bytes(segments, cfg.seq_len, cfg.n_buckets);
    SB_CUDA_CHECK(cudaEventCreate(&m_start));
    SB_CUDA_CHECK(cudaEventCreate(&m_end));
  }
  reformer_cuda_instance(const reformer_cuda_instance&) = delete;
  reformer_cuda_instance& operator=(const reformer_cuda_instance&) = delete;
  ~reformer_cuda_instance() override {
    cudaEventDestroy(m_start);
    cudaEventDestroy(m_end);
  }

  void run(qkv_view in, float* out, run_context& ctx) override {
    const cudaStream_t stream = cuda::context::instance().stream();
    const int heads = m_p.batch * m_p.heads;
    const std::size_t items = index_items(m_p, m_cfg);
    const bool report = ctx.support != nullptr;  // the untimed call: stage timing and the index copy
    cuda::device_buffer<float> inv_norm(static_cast<std::size_t>(heads) * m_p.seq_len, stream);
    cuda::device_buffer<std::int32_t> keys0(items, stream), keys1(items, stream), values0(items, stream),
        values1(items, stream), chunk_of(items, stream);
    cuda::device_buffer<std::int32_t> offsets(static_cast<std::size_t>(heads) * m_cfg.n_hashes + 1, stream);
    cuda::device_buffer<std::uint8_t> temp(std::max<std::size_t>(1, m_temp_bytes), stream);
    cuda_kernels::index_buffers buf{{keys0.data(), keys1.data()}, {values0.data(), values1.data()}, offsets.data(),
                                    temp.data(), m_temp_bytes};
    const std::int32_t* sorted = nullptr;
    if (report) SB_CUDA_CHECK(cudaEventRecord(m_start, stream));
    cuda_kernels::build_index(m_cfg, heads, in.q, m_p.type, m_rotations.data(), buf, &sorted, chunk_of.data(), stream);
    if (report) SB_CUDA_CHECK(cudaEventRecord(m_end, stream));
    cuda_kernels::inverse_norms(m_cfg, heads, in.q, m_p.type, inv_norm.data(), stream);
    cuda_kernels::attend(m_cfg, heads, in.q, in.v, m_p.type, sorted, chunk_of.data(), inv_norm.data(), out, stream);
    ctx.extras["reformer_n_buckets"] = m_cfg.n_buckets;
    if (!report) return;

    SB_CUDA_CHECK(cudaEventSynchronize(m_end));
    float ms = 0;
    SB_CUDA_CHECK(cudaEventElapsedTime(&ms, m_start, m_end));
    ctx.extras["reformer_index_ms"] = ms;
    std::vector<std::int32_t> host_sorted(items), host_chunks(items);
    SB_CUDA_CHECK(cudaMemcpyAsync(host_sorted.data(), sorted, items * sizeof(std::int32_t), cudaMemcpyDeviceToHost,
                                  stream));
    SB_CUDA_CHECK(cudaMemcpyAsync(host_chunks.data(), chunk_of.data(), items * sizeof(std::int32_t),
                                  cudaMemcpyDeviceToHost, stream));
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));
    const std::size_t per_head = static_cast<std::size_t>(m_cfg.n_hashes) * m_p.seq_len;
    sparse::clear_support(*ctx.support);
    std::vector<std::int32_t> row;
    for (int bh = 0; bh < heads; ++bh)
      for (int i = 0; i < m_p.seq_len; ++i) {
        row_keys_from_index(m_cfg, host_sorted.data() + bh * per_head, host_chunks.data() + bh * per_head, i, row);
        sparse::append_support_row(*ctx.support, row);
      }
  }

 private:
  problem m_p;
  config m_cfg;
  cuda::device_buffer<float> m_rotations;  // [n_hashes, D, n_b/2], the CPU's draws
  std::size_t m_temp_bytes = 0;
  cudaEvent_t m_start = nullptr, m_end = nullptr;
};

}  // namespace

std::unique_ptr<attention_instance> make_cuda_instance(const problem& p, const config& cfg) {
  return std::make_unique<reformer_cuda_instance>(p, cfg);
}

std::size_t cuda_workspace_bytes(const problem& p, const config& cfg) {
  const std::size_t items = index_items(p, cfg);
  const std::size_t heads = static_cast<std::size_t>(p.batch) * p.heads;
  return heads * p.seq_len * sizeof(float) + 5 * items * sizeof(std::int32_t) +
         (heads * cfg.n_hashes + 1) * sizeof(std::int32_t);
}

#endif  // SEABENCH_HAVE_CUDA

}  // namespace sb::lsh
