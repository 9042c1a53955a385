#include "attention_variants/sea/pipeline_cuda.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "attention_variants/sea/device_plan.hpp"
#include "attention_variants/sea/estimators_cuda.hpp"
#include "attention_variants/sea/flat_csr.hpp"
#include "attention_variants/sea/flat_csr_cuda.hpp"
#include "attention_variants/sea/pipeline.hpp"
#include "attention_variants/sea/sparse_attention.hpp"
#include "attention_variants/sea/sparse_attention_cuda.hpp"
#include "attention_variants/sea/topk_cuda.hpp"
#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"

namespace sb::sea::gpu {
namespace {

std::size_t sz(long long x) { return static_cast<std::size_t>(x); }

/// cub's scan scratch for n items: a few bytes per tile of hundreds of items, bounded generously.
std::size_t scan_scratch_bound(std::size_t n) { return 4096 + n / 16; }

/// The FlatCSR copied back into the CPU's structure (for the mask statistics and the support).
flat_csr download(const problem& p, const device_flat_csr& d, cudaStream_t stream) {
  flat_csr h;
  h.batch = p.batch;
  h.heads = p.heads;
  h.seq_len = p.seq_len;
  const std::size_t rows = h.rows();
  h.row_ptr = tracked_buffer<std::int64_t>(rows + 1);
  h.hoff = tracked_buffer<std::int32_t>(rows * (sz(p.heads) + 1));
  SB_CUDA_CHECK(cudaMemcpyAsync(h.row_ptr.data(), d.row_ptr.data(), h.row_ptr.size() * sizeof(std::int64_t),
                                cudaMemcpyDeviceToHost, stream));
  SB_CUDA_CHECK(cudaMemcpyAsync(h.hoff.data(), d.hoff.data(), h.hoff.size() * sizeof(std::int32_t),
                                cudaMemcpyDeviceToHost, stream));
  SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  h.col = tracked_buffer<std::int32_t>(sz(h.row_ptr[rows]));
  SB_CUDA_CHECK(cudaMemcpyAsync(h.col.data(), d.col.data(), h.col.size() * sizeof(std::int32_t),
                                cudaMemcpyDeviceToHost, stream));
  SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  return h;
}

class sea_cuda_instance final : public attention_instance {
 public:
  sea_cuda_instance(const problem& p, const config& c) : m_p(p), m_c(c), m_plan(make_device_plan(p, c)) {
    if (auto why = unsupported_reason(p, c)) throw unsupported_case(*why);
    if (p.head_dim > max_sparse_head_dim)
      throw unsupported_case("sea on CUDA: head_dim above " + std::to_string(max_sparse_head_dim));
    m_est = gpu::make_estimator(p, c);
    if (c.sparse == sparse_impl::cusparse) m_cusparse = std::make_unique<cusparse_attention>();
    const cudaStream_t stream = cuda::context::instance().stream();
    m_sel_row_ptr = cuda::device_buffer<std::int64_t>(m_plan.selection_row_ptr.size(), stream);
    SB_CUDA_CHECK(cudaMemcpyAsync(m_sel_row_ptr.data(), m_plan.selection_row_ptr.data(),
                                  m_plan.selection_row_ptr.size() * sizeof(std::int64_t), cudaMemcpyHostToDevice,
                                  stream));
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (auto& e : m_events) SB_CUDA_CHECK(cudaEventCreate(&e));
  }
  ~sea_cuda_instance() override {
    for (auto& e : m_events)
      if (e) cudaEventDestroy(e);
  }

  void run(qkv_view in, float* out, run_context& ctx) override {
    const cudaStream_t stream = cuda::context::instance().stream();
    const bool detailed = ctx.support != nullptr;  // the untimed accuracy call
    auto mark = [&](int i) {
      if (detailed) SB_CUDA_CHECK(cudaEventRecord(m_events[sz(i)], stream));
    };
    const problem& p = m_p;
    const config& c = m_c;
    mark(0);
    cuda::device_buffer<float> ahat(sz(p.batch) * p.heads * c.estimator_rows(p.seq_len) * c.K, stream);
    m_est->estimate(in.q, in.k, ahat.data(), stream);
    mark(1);
    cuda::device_buffer<std::int32_t> cells(sz(std::max<std::int64_t>(m_plan.cells, 1)), stream);
    grouped_topk(p, c, ahat.data(), m_sel_row_ptr.data(), cells.data(), stream);
    ahat.reset();
    mark(2);
    device_flat_csr csr = upsample(p, c, m_sel_row_ptr.data(), cells.data(), m_plan.cells, m_plan.max_nnz, stream);
    cells.reset();
    mark(3);
    const csr_view view{csr.row_ptr.data(), csr.hoff.data(), csr.col.data()};
    if (m_cusparse) m_cusparse->run(p, c, in.q, in.k, in.v, view, nullptr, out, stream);
    else sparse_attend_fused(p, c, in.q, in.k, in.v, view, nullptr, out, stream);
    mark(4);
    if (!detailed) return;

    SB_CUDA_CHECK(cudaEventSynchronize(m_events[4]));
    auto ms = [&](int a, int b) {
      float v = 0;
      SB_CUDA_CHECK(cudaEventElapsedTime(&v, m_events[sz(a)], m_events[sz(b)]));
      return static_cast<double>(v);
    };
    ctx.extras["sea_estimate_ms"] = ms(0, 1);
    ctx.extras["sea_topk_ms"] = ms(1, 2);
    ctx.extras["sea_mask_ms"] = ms(2, 3);
    ctx.extras["sea_attend_ms"] = ms(3, 4);
    ctx.extras["sea_mix_ms"] = 0.0;  // no gates on the GPU estimators (output = sparse)
    ctx.extras["sea_total_ms"] = ms(0, 4);
    const flat_csr host = download(p, csr, stream);
    const mask_stats m = mask_statistics(host);
    ctx.extras["sea_keys_per_query_mean"] = m.keys_per_query_mean;
    ctx.extras["sea_keys_per_query_max"] = static_cast<double>(m.keys_per_query_max);
    ctx.extras["estimator_trained"] = 0.0;
    to_attention_support(host, *ctx.support);
  }

 private:
  problem m_p;
  config m_c;
  device_plan m_plan;
  std::unique_ptr<estimator> m_est;
  std::unique_ptr<cusparse_attention> m_cusparse;
  cuda::device_buffer<std::int64_t> m_sel_row_ptr;
  std::array<cudaEvent_t, 5> m_events{};
};

}  // namespace

std::unique_ptr<attention_instance> make_instance(const problem& p, const config& c) {
  return std::make_unique<sea_cuda_instance>(p, c);
}

std::size_t memory_bytes(const problem& p, const config& c) {
  const device_plan plan = make_device_plan(p, c);
  const std::size_t rows = sz(p.batch) * p.seq_len, elem = dtype_bytes(p.type);
  const std::size_t out = p.qkv_elements() * elem;
  const std::size_t ahat = sz(p.batch) * p.heads * c.estimator_rows(p.seq_len) * c.K * sizeof(float);
  const std::size_t cells = sz(std::max<std::int64_t>(plan.cells, 1)) * sizeof(std::int32_t);
  const std::size_t nnz = sz(std::max<std::int64_t>(plan.max_nnz, 1));
  const std::size_t csr = (rows + 1) * sizeof(std::int64_t) + rows * (sz(p.heads) + 1) * sizeof(std::int32_t) +
                          nnz * sizeof(std::int32_t);
  const std::size_t estimate = ahat + gpu::estimator_scratch_bytes(p, c);
  const std::size_t topk = ahat + cells;
  // the selection, the cell offsets, the row counts and the FlatCSR
  const std::size_t mask = 2 * cells + (rows + 1) * sizeof(std::int64_t) + csr + scan_scratch_bound(rows + 1);
  std::size_t attend = csr;
  if (c.sparse == sparse_impl::cusparse) {
    const std::size_t rows_hm = rows * p.heads;
    // head-major offsets and keys, per-view int32 offsets, fp32 scores and P in the case dtype, and for half
    // types the fp32 copies of one view's Q and K should cuSPARSE need them; the cuSPARSE workspaces are not
    // modelled (the measured peak includes them).
    attend += 2 * (rows_hm + 1) * sizeof(std::int64_t) + nnz * sizeof(std::int32_t) +
              (sz(p.batch) * p.heads * (sz(p.seq_len) + 1)) * sizeof(std::int32_t) + nnz * (sizeof(float) + elem) +
              scan_scratch_bound(rows_hm + 1) +
              (p.type == dtype::fp32 ? 0 : 2 * sz(p.seq_len) * p.head_dim * sizeof(float));
  }
  return out + std::max({estimate, topk, mask, attend});
}

}  // namespace sb::sea::gpu

#endif  // SEABENCH_HAVE_CUDA
