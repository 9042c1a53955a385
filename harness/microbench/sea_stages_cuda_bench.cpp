// Google Benchmark micro-benchmarks of SEA's CUDA stages, one benchmark per stage, manual time from a
// CUDA event pair around each call (warm L2: the same inputs every iteration), at the shape:
// B = 1, H = 1, d = 128, k = 64, K = 128, fp16, T ∈ {4k, 16k, 32k, 64k, 128k, 256k, 512k}.
//   build/bin/seabench_microbench --benchmark_filter='^sea_gpu/' --benchmark_format=json
// Names: sea_gpu/<stage>/<estimator>/<causal|noncausal>/k:<k>/T:<T>/manual_time (k = 64; the sparse stages also
// at k = 256, the FlexAttention anchor's keys per query, measurement.md §8). Stages: estimate, topk, mask
// (FlatCSR), attend_fused, attend_cusparse (sparse attention on the mask, alone), end_to_end_fused and
// end_to_end_cusparse (the registered variant's run()). Stage inputs come from the stages before it,
// computed once at set-up. Counters: nnz and keys_per_query (the mask), flops_executed (attend: nnz·(4d+5)).
// Registered only when a CUDA device is present; inputs are drawn once at the largest T and shared.
#ifdef SEABENCH_HAVE_CUDA

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "attention_variants/sea/device_plan.hpp"
#include "attention_variants/sea/estimators_cuda.hpp"
#include "attention_variants/sea/flat_csr_cuda.hpp"
#include "attention_variants/sea/sea_config.hpp"
#include "attention_variants/sea/sparse_attention_cuda.hpp"
#include "attention_variants/sea/topk_cuda.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/dtype_codec.hpp"

namespace {

using namespace sb;

constexpr int max_T = 512 * 1024, head_dim = 128, k_budget = 64, K_bins = 128;
const std::vector<long long> lengths{4096, 16384, 32768, 65536, 131072, 262144, 524288};

enum class stage { estimate, topk, mask, attend_fused, attend_cusparse, end_to_end_fused, end_to_end_cusparse };
const char* stage_name(stage s) {
  switch (s) {
    case stage::estimate: return "estimate";
    case stage::topk: return "topk";
    case stage::mask: return "mask";
    case stage::attend_fused: return "attend_fused";
    case stage::attend_cusparse: return "attend_cusparse";
    case stage::end_to_end_fused: return "end_to_end_fused";
    case stage::end_to_end_cusparse: return "end_to_end_cusparse";
  }
  return "?";
}

/// Q, K, V of [max_T, head_dim] fp16 on the device; a problem of T rows uses their first T rows.
/// Made on first use and never freed (no CUDA calls during static destruction).
struct shared_inputs {
  cuda::device_buffer<std::byte> q, k, v;
};
shared_inputs& inputs() {
  static shared_inputs* in = [] {
    auto* s = new shared_inputs;
    const std::size_t n = static_cast<std::size_t>(max_T) * head_dim;
    std::vector<float> host(n);
    const std::pair<cuda::device_buffer<std::byte>*, std::uint64_t> bufs[] = {
        {&s->q, rng_stream::dataset_q}, {&s->k, rng_stream::dataset_k}, {&s->v, rng_stream::dataset_v}};
    for (auto [buf, stream] : bufs) {
      counter_rng rng(0, stream);
      for (auto& x : host) x = static_cast<float>(rng.normal());
      const auto bytes = cuda::encode_elements(dtype::fp16, host);
      const cudaStream_t st = cuda::context::instance().stream();
      *buf = cuda::device_buffer<std::byte>(bytes.size(), st);
      SB_CUDA_CHECK(cudaMemcpyAsync(buf->data(), bytes.data(), bytes.size(), cudaMemcpyHostToDevice, st));
      SB_CUDA_CHECK(cudaStreamSynchronize(st));
    }
    return s;
  }();
  return *in;
}

problem make_problem(int T, bool causal, int k) {
  problem p;
  p.batch = 1;
  p.heads = 1;
  p.seq_len = T;
  p.head_dim = head_dim;
  p.causal = causal;
  p.k = k;
  p.type = dtype::fp16;
  return p;
}

void run_stage(benchmark::State& state, stage s, std::string estimator, bool causal, int k) {
  const int T = static_cast<int>(state.range(0));
  const problem p = make_problem(T, causal, k);
  const bool cus = s == stage::attend_cusparse || s == stage::end_to_end_cusparse;
  const attention_variant* v = variant_registry::instance().find("sea");
  const param_set params = v->parameters().resolve(
      "sea", {{"estimator", estimator}, {"K", std::int64_t{K_bins}}, {"sparse_impl", std::string(cus ? "cusparse" : "fused")}});
  const sea::config c = sea::make_config(p, params);
  auto& cx = cuda::context::instance();
  const cudaStream_t stream = cx.stream();
  shared_inputs& in = inputs();
  try {
    // Set-up: every stage's input from the stages before it.
    const sea::device_plan plan = sea::make_device_plan(p, c);
    cuda::device_buffer<std::int64_t> sel_rows(plan.selection_row_ptr.size(), stream);
    SB_CUDA_CHECK(cudaMemcpyAsync(sel_rows.data(), plan.selection_row_ptr.data(),
                                  plan.selection_row_ptr.size() * sizeof(std::int64_t), cudaMemcpyHostToDevice, stream));
    auto est = sea::gpu::make_estimator(p, c);
    cuda::device_buffer<float> ahat(static_cast<std::size_t>(c.estimator_rows(T)) * c.K, stream);
    est->estimate(in.q.data(), in.k.data(), ahat.data(), stream);
    cuda::device_buffer<std::int32_t> cells(static_cast<std::size_t>(std::max<std::int64_t>(plan.cells, 1)), stream);
    sea::gpu::grouped_topk(p, c, ahat.data(), sel_rows.data(), cells.data(), stream);
    sea::gpu::device_flat_csr csr =
        sea::gpu::upsample(p, c, sel_rows.data(), cells.data(), plan.cells, plan.max_nnz, stream);
    const sea::gpu::csr_view view{csr.row_ptr.data(), csr.hoff.data(), csr.col.data()};
    std::int64_t nnz = 0;
    SB_CUDA_CHECK(cudaMemcpyAsync(&nnz, csr.row_ptr.data() + T, sizeof(nnz), cudaMemcpyDeviceToHost, stream));
    cuda::device_buffer<std::byte> out(p.qkv_elements() * dtype_bytes(p.type), stream);
    std::unique_ptr<sea::gpu::cusparse_attention> cusparse;
    if (s == stage::attend_cusparse) cusparse = std::make_unique<sea::gpu::cusparse_attention>();
    std::unique_ptr<attention_instance> instance;
    if (s == stage::end_to_end_fused || s == stage::end_to_end_cusparse)
      instance = v->instantiate(p, params, device_kind::cuda);
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));

    cudaEvent_t start = nullptr, stop = nullptr;
    SB_CUDA_CHECK(cudaEventCreate(&start));
    SB_CUDA_CHECK(cudaEventCreate(&stop));
    run_context ctx;
    const qkv_view qkv{reinterpret_cast<const float*>(in.q.data()), reinterpret_cast<const float*>(in.k.data()),
                       reinterpret_cast<const float*>(in.v.data())};
    for (auto _ : state) {
      SB_CUDA_CHECK(cudaEventRecord(start, stream));
      switch (s) {
        case stage::estimate: est->estimate(in.q.data(), in.k.data(), ahat.data(), stream); break;
        case stage::topk: sea::gpu::grouped_topk(p, c, ahat.data(), sel_rows.data(), cells.data(), stream); break;
        case stage::mask: {
          sea::gpu::device_flat_csr fresh =
              sea::gpu::upsample(p, c, sel_rows.data(), cells.data(), plan.cells, plan.max_nnz, stream);
          break;
        }
        case stage::attend_fused:
          sea::gpu::sparse_attend_fused(p, c, in.q.data(), in.k.data(), in.v.data(), view, nullptr, out.data(), stream);
          break;
        case stage::attend_cusparse:
          cusparse->run(p, c, in.q.data(), in.k.data(), in.v.data(), view, nullptr, out.data(), stream);
          break;
        case stage::end_to_end_fused:
        case stage::end_to_end_cusparse:
          instance->run(qkv, reinterpret_cast<float*>(out.data()), ctx);
          break;
      }
      SB_CUDA_CHECK(cudaEventRecord(stop, stream));
      SB_CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0;
      SB_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      state.SetIterationTime(ms / 1e3);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    state.counters["nnz"] = static_cast<double>(nnz);
    state.counters["keys_per_query"] = static_cast<double>(nnz) / T;
    if (s == stage::attend_fused || s == stage::attend_cusparse)
      state.counters["flops_executed"] = benchmark::Counter(static_cast<double>(nnz) * (4.0 * head_dim + 5.0),
                                                            benchmark::Counter::kIsIterationInvariantRate);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
  cx.pool().trim(stream);
}

/// Registers the benchmarks before main() runs, when a CUDA device is present.
struct registrar {
  registrar() {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
      cudaGetLastError();
      return;
    }
    auto add = [](stage s, const char* est, bool causal, int k = k_budget) {
      const std::string name = std::string("sea_gpu/") + stage_name(s) + "/" + est + (causal ? "/causal" : "/noncausal") +
                               "/k:" + std::to_string(k);
      auto* b = benchmark::RegisterBenchmark(name.c_str(), run_stage, s, std::string(est), causal, k);
      b->ArgName("T")->UseManualTime()->Unit(benchmark::kMillisecond);
      for (long long T : lengths) b->Arg(T);
    };
    for (const char* est : {"performer_hist", "pooled"}) {
      add(stage::estimate, est, false);
      add(stage::end_to_end_fused, est, false);
      add(stage::end_to_end_cusparse, est, false);
    }
    for (stage s : {stage::topk, stage::mask, stage::attend_fused, stage::attend_cusparse})
      add(s, "performer_hist", false);
    for (stage s : {stage::attend_fused, stage::attend_cusparse}) add(s, "performer_hist", false, 256);
    add(stage::end_to_end_fused, "performer_hist", true);
    add(stage::estimate, "performer_hist", true);
  }
};
const registrar register_sea_gpu_benchmarks;

}  // namespace

#endif  // SEABENCH_HAVE_CUDA
