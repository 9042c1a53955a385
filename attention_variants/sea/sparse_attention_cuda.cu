// SEA stage 4 on CUDA (sparse_attention_cuda.hpp): the fused gather kernel.
#include "attention_variants/sea/sparse_attention_cuda.hpp"

#include <limits>
#include <string>

#include "attention_variants/sea/sea_device.cuh"
#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_error.hpp"

namespace sb::sea::gpu {
namespace {

constexpr int warps_per_block = 4;

struct fused_args {
  const std::int64_t* row_ptr;
  const std::int32_t* hoff;
  const std::int32_t* col;
  const float* gates;
  long long segments;
  int T, H, d, te, skip;
  float tau;
};

template <typename E, int DPL>
__global__ void __launch_bounds__(warps_per_block * 32)
    fused_segments(const E* __restrict__ q, const E* __restrict__ k, const E* __restrict__ v, E* __restrict__ out,
                   fused_args a) {
  extern __shared__ float q_smem[];  // [warps_per_block, d]
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
  const long long seg = static_cast<long long>(blockIdx.x) * warps_per_block + warp;
  if (seg >= a.segments) return;
  const long long r = seg / a.H;
  const int h = static_cast<int>(seg % a.H);
  const long long b = r / a.T;
  const int t = static_cast<int>(r % a.T);
  const long long bh = b * a.H + h;
  const long long head = bh * a.T * a.d;
  float* qs = q_smem + warp * a.d;
  for (int c = lane; c < a.d; c += 32) qs[c] = cuda::to_f32(q[head + static_cast<long long>(t) * a.d + c]);
  __syncwarp();
  const std::int32_t* ho = a.hoff + r * (a.H + 1);
  const std::int32_t* keys = a.col + a.row_ptr[r] + ho[h];
  const int n = ho[h + 1] - ho[h];
  const E* kh = k + head;
  const E* vh = v + head;

  float acc[DPL];
#pragma unroll
  for (int u = 0; u < DPL; ++u) acc[u] = 0.0f;
  float run_max = -INFINITY, run_sum = 0.0f;
  for (int i0 = 0; i0 < n; i0 += 32) {
    const int i = i0 + lane;
    const int key = i < n ? keys[i] : 0;
    const float s = i < n ? a.tau * cuda_detail::dot_row_vec(kh + static_cast<long long>(key) * a.d, qs, a.d)
                          : -INFINITY;
    const float new_max = fmaxf(run_max, cuda_detail::warp_max(s));
    const float rescale = run_max == -INFINITY ? 0.0f : expf(run_max - new_max);
    const float p = i < n ? expf(s - new_max) : 0.0f;
    run_sum = run_sum * rescale + cuda_detail::warp_sum(p);
#pragma unroll
    for (int u = 0; u < DPL; ++u) acc[u] *= rescale;
    const int count = min(32, n - i0);
    for (int jj = 0; jj < count; ++jj) {
      const float pj = __shfl_sync(0xffffffffu, p, jj);
      const int kj = __shfl_sync(0xffffffffu, key, jj);
      const E* vr = vh + static_cast<long long>(kj) * a.d;
#pragma unroll
      for (int u = 0; u < DPL; ++u) {
        const int c = lane + 32 * u;
        if (c < a.d) acc[u] = fmaf(pj, cuda::to_f32(vr[c]), acc[u]);
      }
    }
    run_max = new_max;
  }
  float scale = n > 0 ? 1.0f / run_sum : 0.0f;
  if (a.gates) scale *= 1.0f / (1.0f + expf(-a.gates[(bh * a.te + t / a.skip) * 2]));
  E* o = out + head + static_cast<long long>(t) * a.d;
#pragma unroll
  for (int u = 0; u < DPL; ++u) {
    const int c = lane + 32 * u;
    if (c < a.d) o[c] = cuda::from_f32<E>(acc[u] * scale);
  }
}

template <typename E, int DPL>
void launch_fused(const void* q, const void* k, const void* v, void* out, const fused_args& a, cudaStream_t stream) {
  const long long blocks = (a.segments + warps_per_block - 1) / warps_per_block;
  fused_segments<E, DPL><<<static_cast<unsigned>(blocks), warps_per_block * 32,
                           warps_per_block * a.d * sizeof(float), stream>>>(
      static_cast<const E*>(q), static_cast<const E*>(k), static_cast<const E*>(v), static_cast<E*>(out), a);
}

}  // namespace

void sparse_attend_fused(const problem& p, const config& c, const void* q, const void* k, const void* v,
                         csr_view csr, const float* gates, void* out, cudaStream_t stream) {
  if (p.head_dim > max_sparse_head_dim)
    throw unsupported_case("sea on CUDA: sparse attention takes head_dim <= " + std::to_string(max_sparse_head_dim));
  const long long segments = static_cast<long long>(p.batch) * p.seq_len * p.heads;
  if (segments <= 0) return;
  if ((segments + warps_per_block - 1) / warps_per_block > std::numeric_limits<int>::max())
    throw unsupported_case("sea on CUDA: too many (query, head) segments for one launch");
  const fused_args a{csr.row_ptr, csr.hoff, csr.col, gates, segments, p.seq_len, p.heads, p.head_dim,
                     c.estimator_rows(p.seq_len), c.query_skip, static_cast<float>(p.scale())};
  cuda_detail::dispatch_dtype(p.type, [&](auto tag) {
    using E = typename decltype(tag)::type;
    if (p.head_dim <= 64) launch_fused<E, 2>(q, k, v, out, a, stream);
    else if (p.head_dim <= 128) launch_fused<E, 4>(q, k, v, out, a, stream);
    else launch_fused<E, 8>(q, k, v, out, a, stream);
  });
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::sea::gpu
