// scatterbrain on CUDA (see scatterbrain_cuda.hpp).
//   sum: performer's CUDA instance into a scratch output, reformer's CUDA instance into the output,
//     then out += scratch.
//   corrected, per call for every (batch, head) at once:
//     1. Performer features as performer_cuda.cpp makes them: Q, K widened when half, a = d^{-1/4}·X·Wᵀ
//        (one GEMM), −‖x̃‖²/2 and row maxima; queries stabilised per row (c_i = q_stab), keys by the
//        head's maximum c_K (non-causal) or the running maximum r_j (causal), the CPU's references ρ_i;
//     2. the unnormalised sums num_i, den_i (linear_cuda::attend_sums; causal relative to r_i);
//     3. the LSH index: hash + segmented sort + chunk ids (reformer's lsh_cuda.hpp, the CPU's rotations);
//     4. the per-row correction over the support (scatterbrain_kernels.cu), which also counts Σ|S_i| for
//        scatterbrain_exact_keys_per_query.
#include "attention_variants/scatterbrain/scatterbrain_cuda.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include <algorithm>
#include <cmath>
#include <limits>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "attention_variants/linear/linear_attention_cuda.hpp"
#include "attention_variants/performer/performer_cuda.hpp"
#include "attention_variants/reformer/lsh_cuda.hpp"
#include "attention_variants/reformer/reformer_cuda.hpp"
#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"

namespace sb::scatterbrain_cuda {
namespace {

std::size_t index_items(const problem& p, const lsh::config& cfg) {
  return static_cast<std::size_t>(p.batch) * p.heads * cfg.n_hashes * cfg.seq_len;
}

linear_cuda::feature_attention shape_of(const problem& p, int m) {
  return {.heads = static_cast<std::int64_t>(p.batch) * p.heads, .t = p.seq_len, .features = m, .dv = p.head_dim,
          .type = p.type, .causal = p.causal, .den_floor = 0.0f};
}

/// combine = sum: the two variants' CUDA instances, added.
class sum_instance final : public attention_instance {
 public:
  sum_instance(const problem& p, const settings& s)
      : m_p(p),
        m_features(s.features),
        m_reformer(lsh::make_cuda_instance(p, s.lsh)),
        m_performer(performer_cuda::make_instance(p, s.features, s.kernel, s.norms)) {}

  void run(qkv_view in, float* out, run_context& ctx) override {
    const cudaStream_t stream = cuda::context::instance().stream();
    const std::size_t n = m_p.qkv_elements();
    cuda::device_buffer<std::uint8_t> low_rank(n * dtype_bytes(m_p.type), stream);
    run_context part;  // the parts' own extras are not scatterbrain columns
    m_performer->run(in, reinterpret_cast<float*>(low_rank.data()), part);
    m_reformer->run(in, out, part);
    launch_add(out, low_rank.data(), m_p.type, n, stream);
    ctx.extras["scatterbrain_exact_keys_per_query"] = 0.0;
    ctx.extras["performer_features"] = m_features;
  }

 private:
  problem m_p;
  int m_features;
  std::unique_ptr<attention_instance> m_reformer, m_performer;
};

/// combine = corrected.
class corrected_instance final : public attention_instance {
 public:
  corrected_instance(const problem& p, const settings& s)
      : m_p(p),
        m_s(s),
        m_host_w(favor::draw_projection(p.seed, s.features, p.head_dim, {.orthogonal = true, .norms = s.norms})),
        m_tf32(cuda::context::instance().allow_tf32()),
        m_w(m_host_w.w.size()),
        m_rotations(std::max<std::size_t>(1, s.lsh.rotation_count())),
        m_workspace(linear_cuda::cublas_workspace_bytes) {
    if (index_items(p, s.lsh) > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw unsupported_case("scatterbrain on CUDA: B*H*n_hashes*T must fit in 32 bits (cub's item count)");
    std::vector<float> rotations(s.lsh.rotation_count());
    lsh::draw_rotations(s.lsh, p.seed, rotations.data());
    const cudaStream_t stream = cuda::context::instance().stream();
    SB_CUDA_CHECK(cudaMemcpyAsync(m_w.data(), m_host_w.w.data(), m_w.bytes(), cudaMemcpyHostToDevice, stream));
    SB_CUDA_CHECK(cudaMemcpyAsync(m_rotations.data(), rotations.data(), rotations.size() * sizeof(float),
                                  cudaMemcpyHostToDevice, stream));
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));  // set-up: W and R are ready before the first timed call
    m_temp_bytes = lsh::cuda_kernels::sort_temp_bytes(p.batch * p.heads * s.lsh.n_hashes, s.lsh.seq_len,
                                                      s.lsh.n_buckets);
  }

  void run(qkv_view in, float* out, run_context& ctx) override {
    const cudaStream_t stream = cuda::context::instance().stream();
    const linear_cuda::feature_attention a = shape_of(m_p, m_host_w.m);
    const int m = a.features, d = m_p.head_dim, t = a.t;
    const std::int64_t rows = a.heads * t;
    const auto nrows = static_cast<std::size_t>(rows);
    const std::size_t rd = nrows * d, rm = nrows * m;

    // 1. Features, with the stabilisers kept for the exact kernel.
    cuda::device_buffer<float> phi_q(rm, stream), phi_k(rm, stream), q_stab(nrows, stream), k_max(nrows, stream);
    cuda::device_buffer<float> key_ref(m_p.causal ? nrows : static_cast<std::size_t>(a.heads), stream);
    {
      const float* xq = in.q;
      const float* xk = in.k;
      cuda::device_buffer<float> wq, wk;
      if (m_p.type != dtype::fp32) {
        wq = cuda::device_buffer<float>(rd, stream);
        wk = cuda::device_buffer<float>(rd, stream);
        linear_cuda::launch_widen(in.q, m_p.type, rd, wq.data(), stream);
        linear_cuda::launch_widen(in.k, m_p.type, rd, wk.data(), stream);
        xq = wq.data();
        xk = wk.data();
      }
      project(xq, rows, phi_q.data());
      project(xk, rows, phi_k.data());
      const float scale = static_cast<float>(std::pow(static_cast<double>(d), -0.25));
      const float half_s2 = 0.5f * scale * scale, ratio = 1.0f / std::sqrt(static_cast<float>(m));
      const float eps = favor::default_eps(favor::kernel_kind::softmax);
      performer_cuda::launch_finish_exponents(xq, d, phi_q.data(), rows, m, half_s2, q_stab.data(), stream);
      performer_cuda::launch_finish_exponents(xk, d, phi_k.data(), rows, m, half_s2, k_max.data(), stream);
      performer_cuda::launch_softmax_features(phi_q.data(), rows, m, q_stab.data(), nullptr, t, 0.0f, ratio, eps,
                                              stream);
      if (m_p.causal) {
        performer_cuda::launch_prefix_max(k_max.data(), a.heads, t, key_ref.data(), stream);
        performer_cuda::launch_softmax_features(phi_k.data(), rows, m, key_ref.data(), nullptr, t, 0.0f, ratio, eps,
                                                stream);
      } else {
        performer_cuda::launch_head_max(k_max.data(), a.heads, t, key_ref.data(), stream);
        performer_cuda::launch_softmax_features(phi_k.data(), rows, m, nullptr, key_ref.data(), t, 0.0f, ratio, eps,
                                                stream);
      }
    }  // the widened Q and K go back to the pool here

    // 2. The Performer's unnormalised sums.
    cuda::device_buffer<float> num(rd, stream), den(nrows, stream);
    linear_cuda::attend_sums(a, phi_q.data(), phi_k.data(), m_p.causal ? key_ref.data() : nullptr, in.v, num.data(),
                             den.data(), m_workspace, m_tf32);

    // 3. The LSH index (of q, shared-QK, as the CPU's lsh::build_index).
    const int heads = m_p.batch * m_p.heads;
    const std::size_t items = index_items(m_p, m_s.lsh);
    cuda::device_buffer<std::int32_t> keys0(items, stream), keys1(items, stream), values0(items, stream),
        values1(items, stream), chunk_of(items, stream);
    cuda::device_buffer<std::int32_t> offsets(static_cast<std::size_t>(heads) * m_s.lsh.n_hashes + 1, stream);
    cuda::device_buffer<std::uint8_t> temp(std::max<std::size_t>(1, m_temp_bytes), stream);
    lsh::cuda_kernels::index_buffers buf{{keys0.data(), keys1.data()}, {values0.data(), values1.data()},
                                         offsets.data(), temp.data(), m_temp_bytes};
    const std::int32_t* sorted = nullptr;
    lsh::cuda_kernels::build_index(m_s.lsh, heads, in.q, m_p.type, m_rotations.data(), buf, &sorted, chunk_of.data(),
                                   stream);

    // 4. The correction over the support. Σ|S_i| is read back on the instance's first call only (a
    // harness case runs one instance on one input), so timed calls do not wait for the copy.
    cuda::device_buffer<unsigned long long> pairs(1, stream);
    SB_CUDA_CHECK(cudaMemsetAsync(pairs.data(), 0, sizeof(unsigned long long), stream));
    launch_corrected({.lsh = m_s.lsh, .heads = a.heads, .features = m, .type = m_p.type, .q = in.q, .k = in.k,
                      .v = in.v, .phi_q = phi_q.data(), .phi_k = phi_k.data(), .q_stab = q_stab.data(),
                      .key_ref = key_ref.data(), .num = num.data(), .den = den.data(), .sorted = sorted,
                      .chunk_of = chunk_of.data(), .out = out, .pairs = pairs.data()},
                     stream);
    if (m_exact_keys_per_query < 0) {
      unsigned long long total = 0;
      SB_CUDA_CHECK(cudaMemcpyAsync(&total, pairs.data(), sizeof total, cudaMemcpyDeviceToHost, stream));
      SB_CUDA_CHECK(cudaStreamSynchronize(stream));
      m_exact_keys_per_query = static_cast<double>(total) / static_cast<double>(m_p.rows());
    }
    ctx.extras["scatterbrain_exact_keys_per_query"] = m_exact_keys_per_query;
    ctx.extras["performer_features"] = m;
  }

 private:
  void project(const float* x, std::int64_t rows, float* a) {
    performer_cuda::project(m_w.data(), m_host_w.m, m_host_w.d, x, rows, a, m_p.type == dtype::fp32 && m_tf32,
                            m_workspace);
  }

  problem m_p;
  settings m_s;
  favor::projection m_host_w;  // the CPU's projection (rng_stream::features), drawn once at set-up
  bool m_tf32;
  cuda::device_buffer<float> m_w;
  cuda::device_buffer<float> m_rotations;  // the CPU's LSH rotations (rng_stream::hashes)
  cuda::device_buffer<std::uint8_t> m_workspace;
  std::size_t m_temp_bytes = 0;
  double m_exact_keys_per_query = -1.0;  // mean |S_i| of the first call; < 0 until then
};

}  // namespace

std::unique_ptr<attention_instance> make_instance(const problem& p, const settings& s) {
  if (static_cast<std::int64_t>(p.batch) * p.heads * p.seq_len > 2147483647LL)
    throw unsupported_case("scatterbrain on CUDA: more than 2^31 - 1 rows");
  if (s.corrected) return std::make_unique<corrected_instance>(p, s);
  return std::make_unique<sum_instance>(p, s);
}

std::size_t memory_bytes(const problem& p, const settings& s) {
  const std::size_t out = p.qkv_elements() * dtype_bytes(p.type);
  if (!s.corrected) {
    // The scratch output lives through both parts; the parts' scratch one after the other.
    const std::size_t performer = performer_cuda::memory_bytes(p, s.features, s.kernel) - out;
    return 2 * out + std::max(performer, lsh::cuda_workspace_bytes(p, s.lsh));
  }
  const std::size_t heads = static_cast<std::size_t>(p.batch) * p.heads, rows = heads * p.seq_len;
  const std::size_t m = static_cast<std::size_t>(s.features), d = static_cast<std::size_t>(p.head_dim);
  // Held through the call: φQ, φK, c_i, the key maxima, the key references.
  const std::size_t held = (2 * rows * m + 2 * rows + (p.causal ? rows : heads)) * sizeof(float);
  const std::size_t widened = p.type != dtype::fp32 ? 2 * rows * d * sizeof(float) : 0;  // step 1 only
  const std::size_t sums = (rows * d + rows) * sizeof(float);                           // steps 2-4
  const std::size_t items = index_items(p, s.lsh);
  const std::size_t index = 5 * items * sizeof(std::int32_t) + (heads * s.lsh.n_hashes + 1) * sizeof(std::int32_t) +
                            sizeof(unsigned long long);
  const std::size_t later = sums + std::max(linear_cuda::attend_sums_scratch_bytes(shape_of(p, s.features)), index);
  return out + held + std::max(widened, later);
}

}  // namespace sb::scatterbrain_cuda

#endif  // SEABENCH_HAVE_CUDA
