// SEA on the GPU, stage by stage against the CPU reference (tag [gpu][sea]). Each stage gets the CPU's
// own input (uploaded), so a stage is compared on equal footing: Â within fp32 rounding, the top-k
// indices and the FlatCSR exactly, the sparse output (both implementations) and the mix within the
// device-vs-CPU tolerance of docs/gpu.md (1e-4 in fp32; half types against the CPU on the rounded
// inputs, 5e-3 fp16 and 2e-2 bf16 for the output's own rounding). End to end, the GPU output equals
// sparse attention over the GPU's own support, that support equals the CPU's on (almost) every row,
// the exact setting (k = T) gives exact attention, and the causal canary holds.
#include "tests/device/gpu_test_support.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "attention_variants/sea/estimators.hpp"
#include "attention_variants/sea/flat_csr.hpp"
#include "attention_variants/sea/output_mix.hpp"
#include "attention_variants/sea/sparse_attention.hpp"
#include "attention_variants/sea/topk.hpp"
#include "attention_variants/sparse_common/sparse_attend.hpp"
#ifdef SEABENCH_HAVE_CUDA
#include "attention_variants/sea/device_plan.hpp"
#include "attention_variants/sea/pipeline_cuda.hpp"
#include "attention_variants/sea/estimators_cuda.hpp"
#include "attention_variants/sea/flat_csr_cuda.hpp"
#include "attention_variants/sea/output_mix_cuda.hpp"
#include "attention_variants/sea/sparse_attention_cuda.hpp"
#include "attention_variants/sea/topk_cuda.hpp"
#endif

using namespace sb;

#ifdef SEABENCH_HAVE_CUDA
namespace {

problem sea_problem(int t, bool causal, int k, dtype type = dtype::fp32, int heads = 3, int d = 32, int batch = 2) {
  problem p;
  p.batch = batch;
  p.heads = heads;
  p.seq_len = t;
  p.head_dim = d;
  p.causal = causal;
  p.k = k;
  p.type = type;
  p.seed = 11;
  return p;
}

param_set sea_params(const std::map<std::string, param_value>& overrides) {
  return sea::parameter_schema().resolve("sea gpu test", overrides);
}

template <typename T>
cuda::device_buffer<T> upload(const T* data, std::size_t n) {
  const cudaStream_t s = cuda::context::instance().stream();
  cuda::device_buffer<T> d(std::max<std::size_t>(n, 1), s);
  if (n) SB_CUDA_CHECK(cudaMemcpyAsync(d.data(), data, n * sizeof(T), cudaMemcpyHostToDevice, s));
  SB_CUDA_CHECK(cudaStreamSynchronize(s));
  return d;
}
template <typename T>
std::vector<T> download(const T* d, std::size_t n) {
  const cudaStream_t s = cuda::context::instance().stream();
  SB_CUDA_CHECK(cudaStreamSynchronize(s));
  std::vector<T> h(n);
  if (n) SB_CUDA_CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}
std::vector<float> download_as_f32(const problem& p, const void* d, std::size_t n) {
  const auto bytes = download(static_cast<const std::byte*>(d), n * dtype_bytes(p.type));
  std::vector<float> h(n);
  cuda::decode_elements(p.type, bytes.data(), h);
  return h;
}

struct tensors {
  std::vector<float> q, k, v;        // as drawn
  std::vector<float> qr, kr, vr;     // rounded to the case dtype: what the device sees
  cuda::device_buffer<std::byte> dq, dk, dv;
};
tensors make_tensors(const problem& p, std::uint64_t seed) {
  tensors t;
  t.q = test::normal_tensor(p.qkv_elements(), seed, 1);
  t.k = test::normal_tensor(p.qkv_elements(), seed, 2);
  t.v = test::normal_tensor(p.qkv_elements(), seed, 3);
  t.qr = cuda::round_through(p.type, t.q);
  t.kr = cuda::round_through(p.type, t.k);
  t.vr = cuda::round_through(p.type, t.v);
  t.dq = test::to_device(t.q, p.type);
  t.dk = test::to_device(t.k, p.type);
  t.dv = test::to_device(t.v, p.type);
  return t;
}
problem fp32_of(problem p) {
  p.type = dtype::fp32;
  return p;
}
double tolerance(dtype t) { return t == dtype::fp32 ? 1e-4 : t == dtype::fp16 ? 5e-3 : 2e-2; }

std::size_t ahat_size(const problem& p, const sea::config& c) {
  return static_cast<std::size_t>(p.batch) * p.heads * c.estimator_rows(p.seq_len) * c.K;
}

/// The CPU's FlatCSR on the device.
struct uploaded_csr {
  cuda::device_buffer<std::int64_t> row_ptr;
  cuda::device_buffer<std::int32_t> hoff, col;
  sea::gpu::csr_view view() const { return {row_ptr.data(), hoff.data(), col.data()}; }
};
uploaded_csr upload_csr(const sea::flat_csr& c) {
  return {upload(c.row_ptr.data(), c.row_ptr.size()), upload(c.hoff.data(), c.hoff.size()),
          upload(c.col.data(), static_cast<std::size_t>(c.nnz()))};
}

}  // namespace
#endif

TEST_CASE("sea CUDA estimators match the CPU's compressed attention", "[gpu][sea]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const cudaStream_t s = cuda::context::instance().stream();
  for (const char* est : {"pooled", "oracle", "performer_hist"})
    for (bool causal : {false, true})
      for (const char* up : {"csr", "nearest"})
        for (int skip : {1, 3})
          for (dtype type : {dtype::fp32, dtype::fp16, dtype::bf16}) {
            if (type != dtype::fp32 && (skip != 1 || std::string(up) != "csr")) continue;
            const problem p = sea_problem(300, causal, 8, type);
            const sea::config c = sea::make_config(
                p, sea_params({{"estimator", std::string(est)}, {"K", std::int64_t{16}},
                               {"upsample", std::string(up)}, {"query_skip", std::int64_t{skip}}}));
            INFO("estimator=" << est << " causal=" << causal << " upsample=" << up << " skip=" << skip
                              << " dtype=" << to_string(type));
            const tensors t = make_tensors(p, 5);
            std::vector<float> cpu(ahat_size(p, c));
            sea::make_estimator(fp32_of(p), c)->estimate({t.qr.data(), t.kr.data(), t.vr.data()}, cpu.data(), nullptr);
            cuda::device_buffer<float> d(cpu.size(), s);
            sea::gpu::make_estimator(p, c)->estimate(t.dq.data(), t.dk.data(), d.data(), s);
            const auto gpu = download(d.data(), cpu.size());
            CHECK(test::rel_fro(gpu, cpu) <= 1e-4);
            double worst = 0;
            for (std::size_t i = 0; i < cpu.size(); ++i) worst = std::max(worst, std::abs(double(gpu[i]) - cpu[i]));
            CHECK(worst <= 1e-5);  // Â rows are distributions: absolute error per cell
          }
#endif
}

TEST_CASE("sea CUDA grouped top-k selects exactly the CPU's cells, ties and NaN included", "[gpu][sea]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const cudaStream_t s = cuda::context::instance().stream();
  for (const char* mode : {"causal_batch", "query"})
    for (bool causal : {false, true})
      for (const char* up : {"csr", "nearest"})
        // H·K = 48 and 384: the warp rank-select kernel; 1200 (and K = 1100 per head in query mode): the
        // block radix-select kernel, several block-wide chunks per row. T = 200 < K leaves bins empty.
        for (int K : {16, 128, 400, 1100})
          for (int k : {1, 5, 40}) {
            const problem p = sea_problem(200, causal, k, dtype::fp32, 3, 16, 2);
            const sea::config c = sea::make_config(
                p, sea_params({{"K", std::int64_t{K}}, {"topk_mode", std::string(mode)}, {"upsample", std::string(up)},
                               {"query_skip", std::int64_t{2}}}));
            INFO("mode=" << mode << " causal=" << causal << " upsample=" << up << " K=" << K << " k=" << k);
            counter_rng rng(K + k, 7);
            std::vector<float> ahat(ahat_size(p, c));
            for (auto& x : ahat) {  // a coarse grid (ties), some NaN, some -0 and +0, negative values
              const double u = rng.uniform();
              x = u < 0.02 ? std::numeric_limits<float>::quiet_NaN()
                  : u < 0.05 ? -0.0f
                  : u < 0.08 ? 0.0f
                             : static_cast<float>(std::floor(rng.uniform() * 10.0) - 3.0) / 7.0f;
            }
            const sea::selection cpu = sea::grouped_topk(p, c, ahat.data());
            const sea::device_plan plan = sea::make_device_plan(p, c);
            const auto d_ahat = upload(ahat.data(), ahat.size());
            const auto d_rows = upload(plan.selection_row_ptr.data(), plan.selection_row_ptr.size());
            cuda::device_buffer<std::int32_t> cells(static_cast<std::size_t>(std::max<std::int64_t>(plan.cells, 1)), s);
            sea::gpu::grouped_topk(p, c, d_ahat.data(), d_rows.data(), cells.data(), s);
            const auto gpu = download(cells.data(), static_cast<std::size_t>(plan.cells));
            REQUIRE(static_cast<std::size_t>(plan.cells) == cpu.cells.size());
            CHECK(std::equal(gpu.begin(), gpu.end(), cpu.cells.data()));
          }
#endif
}

TEST_CASE("sea CUDA FlatCSR construction equals the CPU's exactly", "[gpu][sea]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const cudaStream_t s = cuda::context::instance().stream();
  for (bool causal : {false, true})
    for (const char* up : {"csr", "nearest"})
      for (double o : {1.0, 1.7})
        for (int k : {2, 9}) {
          const problem p = sea_problem(333, causal, k, dtype::fp32, 3, 16, 2);
          const sea::config c = sea::make_config(
              p, sea_params({{"K", std::int64_t{20}}, {"upsample", std::string(up)}, {"k_oversample", o}}));
          INFO("causal=" << causal << " upsample=" << up << " o=" << o << " k=" << k);
          counter_rng rng(k, 8);
          std::vector<float> ahat(ahat_size(p, c));
          for (auto& x : ahat) x = static_cast<float>(rng.uniform());
          const sea::selection sel = sea::grouped_topk(p, c, ahat.data());
          const sea::flat_csr cpu = sea::upsample(p, c, sel);
          const sea::device_plan plan = sea::make_device_plan(p, c);
          const auto d_rows = upload(sel.row_ptr.data(), sel.row_ptr.size());
          const auto d_cells = upload(sel.cells.data(), sel.cells.size());
          const sea::gpu::device_flat_csr gpu =
              sea::gpu::upsample(p, c, d_rows.data(), d_cells.data(), plan.cells, plan.max_nnz, s);
          const auto row_ptr = download(gpu.row_ptr.data(), cpu.row_ptr.size());
          const auto hoff = download(gpu.hoff.data(), cpu.hoff.size());
          CHECK(std::equal(row_ptr.begin(), row_ptr.end(), cpu.row_ptr.data()));
          CHECK(std::equal(hoff.begin(), hoff.end(), cpu.hoff.data()));
          const auto col = download(gpu.col.data(), static_cast<std::size_t>(cpu.nnz()));
          CHECK(std::equal(col.begin(), col.end(), cpu.col.data()));
        }
#endif
}

TEST_CASE("sea CUDA sparse attention, fused and cuSPARSE, matches the CPU on the CPU's mask", "[gpu][sea]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const cudaStream_t s = cuda::context::instance().stream();
  sea::gpu::cusparse_attention cusparse;
  for (bool causal : {false, true})
    for (bool gated : {false, true})
      for (int d : {32, 64, 128, 200})
        for (dtype type : {dtype::fp32, dtype::fp16, dtype::bf16}) {
          if (type != dtype::fp32 && d != 64) continue;
          // H = 4 and a small k: causal_batch leaves some heads of a row without cells (empty segments → 0).
          const problem p = sea_problem(257, causal, 3, type, 4, d, 2);
          const sea::config c = sea::make_config(p, sea_params({{"K", std::int64_t{32}}}));
          INFO("causal=" << causal << " gated=" << gated << " d=" << d << " dtype=" << to_string(type));
          const tensors t = make_tensors(p, 9);
          counter_rng rng(d, 9);
          std::vector<float> ahat(ahat_size(p, c)), gates(ahat.size() / c.K * 2);
          for (auto& x : ahat) x = static_cast<float>(rng.uniform());
          for (auto& x : gates) x = static_cast<float>(2.0 * rng.normal());
          const sea::flat_csr csr = sea::upsample(p, c, sea::grouped_topk(p, c, ahat.data()));
          std::vector<float> cpu(p.qkv_elements());
          sea::sparse_attend(fp32_of(p), c, {t.qr.data(), t.kr.data(), t.vr.data()}, csr, gated ? gates.data() : nullptr,
                             cpu.data());
          const uploaded_csr dcsr = upload_csr(csr);
          const auto d_gates = upload(gates.data(), gates.size());
          const float* g = gated ? d_gates.data() : nullptr;
          for (const char* impl : {"fused", "cusparse"}) {
            INFO("impl=" << impl);
            cuda::device_buffer<std::byte> out(p.qkv_elements() * dtype_bytes(p.type), s);
            if (std::string(impl) == "fused")
              sea::gpu::sparse_attend_fused(p, c, t.dq.data(), t.dk.data(), t.dv.data(), dcsr.view(), g, out.data(), s);
            else
              cusparse.run(p, c, t.dq.data(), t.dk.data(), t.dv.data(), dcsr.view(), g, out.data(), s);
            const auto gpu = download_as_f32(p, out.data(), p.qkv_elements());
            CHECK(test::rel_fro(gpu, cpu) <= tolerance(type));
            // Rows of heads without keys are exactly zero on both devices.
            std::size_t empty_rows = 0, zero_rows = 0;
            for (std::size_t r = 0; r < csr.rows(); ++r)
              for (int h = 0; h < p.heads; ++h) {
                if (!csr.segment(r, h).empty()) continue;
                ++empty_rows;
                const std::size_t b = r / p.seq_len, tq = r % p.seq_len;
                const float* o = gpu.data() + ((b * p.heads + h) * p.seq_len + tq) * p.head_dim;
                zero_rows += std::all_of(o, o + p.head_dim, [](float x) { return x == 0.0f; });
              }
            CHECK(zero_rows == empty_rows);
            if (!causal && !gated && d == 32 && type == dtype::fp32) CHECK(empty_rows > 0);
          }
        }
#endif
}

TEST_CASE("sea CUDA output mix matches the CPU", "[gpu][sea]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const cudaStream_t s = cuda::context::instance().stream();
  for (bool causal : {false, true})
    for (dtype type : {dtype::fp32, dtype::fp16, dtype::bf16}) {
      const problem p = sea_problem(700, causal, 8, type, 2, 48, 2);  // T above one 256-row scan chunk
      const sea::config c = sea::make_config(p, sea_params({{"K", std::int64_t{24}}, {"query_skip", std::int64_t{2}}}));
      INFO("causal=" << causal << " dtype=" << to_string(type));
      const tensors t = make_tensors(p, 13);
      counter_rng rng(3, 10);
      std::vector<float> ahat(ahat_size(p, c)), gates(ahat.size() / c.K * 2);
      for (auto& x : ahat) x = static_cast<float>(rng.uniform());
      for (auto& x : gates) x = static_cast<float>(2.0 * rng.normal());
      // The sparse output stand-in: q itself (any [B, H, T, D] tensor is blended the same way).
      std::vector<float> cpu = t.qr;
      std::vector<float> mean(static_cast<std::size_t>(p.batch) * p.heads * c.K);
      sea::query_mean(fp32_of(p), c, ahat.data(), mean.data());
      sea::output_mix(fp32_of(p), c, {t.qr.data(), t.kr.data(), t.vr.data()}, gates.data(), mean.data(), cpu.data());
      const auto d_ahat = upload(ahat.data(), ahat.size());
      const auto d_gates = upload(gates.data(), gates.size());
      cuda::device_buffer<float> d_mean(mean.size(), s);
      sea::gpu::query_mean(p, c, d_ahat.data(), d_mean.data(), s);
      CHECK(test::rel_fro(download(d_mean.data(), mean.size()), mean) <= 1e-6);
      auto out = test::to_device(t.q, p.type);
      sea::gpu::output_mix(p, c, t.dv.data(), d_gates.data(), d_mean.data(), out.data(), s);
      CHECK(test::rel_fro(download_as_f32(p, out.data(), p.qkv_elements()), cpu) <= tolerance(type));
    }
#endif
}

TEST_CASE("sea CUDA end to end: sparse attention over its own support, the CPU's support, exact at k = T",
          "[gpu][sea]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const attention_variant* v = variant_registry::instance().find("sea");
  REQUIRE(v);
  for (const char* est : {"performer_hist", "pooled", "oracle"})
    for (bool causal : {false, true})
      for (const char* impl : {"fused", "cusparse"})
        for (dtype type : {dtype::fp32, dtype::fp16}) {
          const problem p = sea_problem(512, causal, 8, type, 2, 64, 1);
          const auto params = v->parameters().resolve(
              "sea", {{"estimator", std::string(est)}, {"K", std::int64_t{32}}, {"sparse_impl", std::string(impl)}});
          INFO("estimator=" << est << " causal=" << causal << " impl=" << impl << " dtype=" << to_string(type));
          const tensors t = make_tensors(p, 21);
          attention_support gpu_support;
          run_context ctx;
          ctx.support = &gpu_support;
          const auto gpu = test::run_on_cuda(*v, p, params, t.q, t.k, t.v, &ctx);
          // The per-stage times and the mask statistics come with the detailed (support) call.
          CHECK(ctx.extras.count("sea_attend_ms") == 1);
          CHECK(ctx.extras.at("sea_total_ms") >= ctx.extras.at("sea_attend_ms"));
          CHECK(ctx.extras.at("sea_keys_per_query_mean") > 0);
          // 1. The output is sparse attention over the support the GPU chose (CPU recomputation).
          std::vector<float> ref(p.qkv_elements()), scratch(static_cast<std::size_t>(p.seq_len));
          const float tau = static_cast<float>(p.scale());
          const std::size_t he = static_cast<std::size_t>(p.seq_len) * p.head_dim;
          for (std::size_t row = 0; row + 1 < gpu_support.row_ptr.size(); ++row) {
            const std::size_t bh = row / p.seq_len, tq = row % p.seq_len;
            const std::span<const std::int32_t> keys(gpu_support.cols.data() + gpu_support.row_ptr[row],
                                                     gpu_support.cols.data() + gpu_support.row_ptr[row + 1]);
            sparse::attend_row(t.qr.data() + bh * he + tq * p.head_dim, t.kr.data() + bh * he, t.vr.data() + bh * he,
                               p.head_dim, tau, keys, scratch.data(), ref.data() + bh * he + tq * p.head_dim);
          }
          CHECK(test::rel_fro(gpu, ref) <= tolerance(type));
          // 2. The support is the CPU pipeline's on all but near-tied rows.
          problem p_cpu = fp32_of(p);
          auto cpu_instance = v->instantiate(p_cpu, params, device_kind::cpu);
          attention_support cpu_support;
          run_context cpu_ctx;
          cpu_ctx.support = &cpu_support;
          std::vector<float> cpu_out(p.qkv_elements());
          cpu_instance->run({t.qr.data(), t.kr.data(), t.vr.data()}, cpu_out.data(), cpu_ctx);
          REQUIRE(cpu_support.row_ptr.size() == gpu_support.row_ptr.size());
          std::size_t same = 0;
          const std::size_t rows = cpu_support.row_ptr.size() - 1;
          for (std::size_t r = 0; r < rows; ++r)
            same += std::equal(cpu_support.cols.begin() + cpu_support.row_ptr[r],
                               cpu_support.cols.begin() + cpu_support.row_ptr[r + 1],
                               gpu_support.cols.begin() + gpu_support.row_ptr[r],
                               gpu_support.cols.begin() + gpu_support.row_ptr[r + 1]);
          CHECK(static_cast<double>(same) >= 0.99 * static_cast<double>(rows));
          // 3. k = T selects every key: exact attention.
          problem pe = p;
          pe.k = p.seq_len;
          const auto exact_params = v->parameters().resolve(
              "sea", {{"estimator", std::string(est)}, {"K", std::int64_t{32}}, {"sparse_impl", std::string(impl)},
                      {"output", std::string("sparse")}});
          const auto exact = test::run_on_cuda(*v, pe, exact_params, t.q, t.k, t.v);
          CHECK(test::rel_fro(exact, test::exact_output(fp32_of(pe), t.qr, t.kr, t.vr)) <= tolerance(type));
        }
#endif
}

TEST_CASE("sea CUDA causal canary: rows never read later queries, keys or values", "[gpu][sea]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const attention_variant* v = variant_registry::instance().find("sea");
  REQUIRE(v);
  // oracle is excluded: its per-bin masses are summed with shared-memory atomics, whose order (and so the
  // last bit) is not deterministic, so bitwise equality is not expected of it.
  for (const char* est : {"performer_hist", "pooled"})
    for (const char* impl : {"fused", "cusparse"}) {
      const problem p = sea_problem(600, true, 8, dtype::fp16, 2, 64, 1);
      const auto params = v->parameters().resolve(
          "sea", {{"estimator", std::string(est)}, {"K", std::int64_t{32}}, {"sparse_impl", std::string(impl)}});
      INFO("estimator=" << est << " impl=" << impl);
      const tensors t = make_tensors(p, 31);
      const int cut = 377;
      auto q2 = t.q, k2 = t.k, v2 = t.v;
      counter_rng rng(1, 2);
      for (int h = 0; h < p.heads; ++h)
        for (int tq = cut; tq < p.seq_len; ++tq)
          for (int c = 0; c < p.head_dim; ++c) {
            const std::size_t i = (static_cast<std::size_t>(h) * p.seq_len + tq) * p.head_dim + c;
            q2[i] = static_cast<float>(5 * rng.normal());
            k2[i] = static_cast<float>(5 * rng.normal());
            v2[i] = static_cast<float>(5 * rng.normal());
          }
      const auto a = test::run_on_cuda(*v, p, params, t.q, t.k, t.v);
      const auto b = test::run_on_cuda(*v, p, params, q2, k2, v2);
      // fused: bit for bit. cusparse: cuSPARSE does not promise a summation order, so an earlier row may move
      // by the last bit of its fp16 output (2^-10 relative), far below what a leak of the perturbed
      // (5× larger) future rows would do.
      const bool exact = std::string(impl) == "fused";
      std::size_t differ = 0, later_differ = 0;
      for (int h = 0; h < p.heads; ++h)
        for (int tq = 0; tq < p.seq_len; ++tq)
          for (int c = 0; c < p.head_dim; ++c) {
            const std::size_t i = (static_cast<std::size_t>(h) * p.seq_len + tq) * p.head_dim + c;
            const bool same = exact ? a[i] == b[i] : std::abs(a[i] - b[i]) <= 2e-3f * std::abs(a[i]) + 1e-6f;
            if (!same) ++(tq < cut ? differ : later_differ);
          }
      CHECK(differ == 0);
      CHECK(later_differ > 0);  // the perturbation reached the rows allowed to see it
    }
#endif
}

TEST_CASE("sea CUDA peak memory: within the CUDA model and linear in T", "[gpu][sea]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const attention_variant* v = variant_registry::instance().find("sea");
  REQUIRE(v);
  auto& cx = cuda::context::instance();
  const cudaStream_t s = cx.stream();
  // T large enough that Â and the FlatCSR (tens of MiB) dominate the pool's rounding of small buffers.
  const std::vector<int> lengths{32768, 65536, 131072};
  std::map<std::string, std::vector<double>> peaks;
  for (int T : lengths) {
    const problem shape = sea_problem(T, false, 16, dtype::fp16, 2, 64, 1);
    const tensors t = make_tensors(shape, 41);
    for (const char* est : {"performer_hist", "pooled"})
      for (bool causal : {false, true}) {
        problem p = shape;
        p.causal = causal;
        const auto params = v->parameters().resolve("sea", {{"estimator", std::string(est)}});
        INFO("estimator=" << est << " causal=" << causal << " T=" << T);
        auto instance = v->instantiate(p, params, device_kind::cuda);
        SB_CUDA_CHECK(cudaStreamSynchronize(s));
        cx.pool().reset_peak(s);
        {
          cuda::device_buffer<std::byte> out(p.qkv_elements() * dtype_bytes(p.type), s);
          run_context ctx;
          instance->run({reinterpret_cast<const float*>(t.dq.data()), reinterpret_cast<const float*>(t.dk.data()),
                         reinterpret_cast<const float*>(t.dv.data())},
                        reinterpret_cast<float*>(out.data()), ctx);
        }
        const double peak = static_cast<double>(cx.pool().peak_used_above_reset(s));
        const double model = static_cast<double>(sea::gpu::memory_bytes(p, sea::make_config(p, params)));
        // The model bounds what the pool handed out, up to the pool's rounding of the ~8 live buffers.
        CHECK(peak <= 1.05 * model + (16 << 20));
        CHECK(peak >= 0.8 * model);                // and is not loose
        peaks[std::string(est) + (causal ? "/causal" : "/noncausal")].push_back(peak);
        instance.reset();
        cx.pool().trim(s);
      }
  }
  for (const auto& [name, pk] : peaks) {
    INFO(name << ": peaks " << pk[0] << " " << pk[1] << " " << pk[2]);
    // Doubling T doubles the peak (linear memory; quadratic would be 4×); the margin is the pool's rounding.
    for (std::size_t i = 1; i < pk.size(); ++i) {
      CHECK(pk[i] / pk[i - 1] >= 1.7);
      CHECK(pk[i] / pk[i - 1] <= 2.3);
    }
  }
#endif
}
