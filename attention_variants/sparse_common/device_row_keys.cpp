#include "attention_variants/sparse_common/device_row_keys.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <algorithm>

#include <cuda_runtime.h>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"

namespace sb::sparse {

device_row_keys::device_row_keys(const row_key_pattern& plan)
    : m_t(plan.t),
      m_patterns(plan.patterns),
      m_row_ptr(plan.row_ptr.size()),
      m_cols(std::max<std::size_t>(1, plan.cols.size())) {
  const cudaStream_t s = cuda::context::instance().stream();
  SB_CUDA_CHECK(cudaMemcpyAsync(m_row_ptr.data(), plan.row_ptr.data(), m_row_ptr.bytes(), cudaMemcpyHostToDevice, s));
  if (!plan.cols.empty())
    SB_CUDA_CHECK(cudaMemcpyAsync(m_cols.data(), plan.cols.data(), plan.cols.size() * sizeof(std::int32_t),
                                  cudaMemcpyHostToDevice, s));
  SB_CUDA_CHECK(cudaStreamSynchronize(s));  // the host vectors may go away after this
}

cuda_kernels::key_lists device_row_keys::lists() const {
  cuda_kernels::key_lists l;
  l.row_ptr = m_row_ptr.data();
  l.cols = m_cols.data();
  l.patterns = m_patterns;
  l.i0 = 0;
  l.nq = m_t;
  return l;
}

void device_row_keys::attend(const problem& p, qkv_view in, float* out) const {
  cuda_kernels::launch_attend_rows(attend_args_for(p, in, out), lists(), cuda::context::instance().stream());
}

cuda_kernels::attend_args attend_args_for(const problem& p, qkv_view in, float* out) {
  cuda_kernels::attend_args a;
  a.q = in.q;
  a.k = in.k;
  a.v = in.v;
  a.out = out;
  a.batch = p.batch;
  a.heads = p.heads;
  a.t = p.seq_len;
  a.d = p.head_dim;
  a.tau = static_cast<float>(p.scale());
  a.type = p.type;
  return a;
}

}  // namespace sb::sparse

#endif  // SEABENCH_HAVE_CUDA
