// Google Benchmark micro-benchmarks of every registered CPU variant, through the registry, at its
// default parameters (k = 64 for variants that use k), H = 4, D = 64, T = 256 … 4096.
//   build/bin/seabench_microbench --benchmark_format=json --benchmark_out=micro.json
//   build/bin/seabench_microbench --benchmark_filter='sea|dense'
// Names: <variant>/<causal|noncausal>/T:<T>. Counters: flops_executed (rate), peak_mem_bytes.
#include <benchmark/benchmark.h>

#include <vector>

#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"

namespace {

void run_variant(benchmark::State& state, const sb::attention_variant* v, bool causal) {
  sb::problem p;
  p.seq_len = static_cast<int>(state.range(0));
  p.heads = 4;
  p.head_dim = 64;
  p.causal = causal;
  if (v->caps().uses_k != sb::k_usage::none) p.k = 64;
  const auto params = v->parameters().resolve(std::string(v->name()), {});
  if (auto reason = sb::unsupported_reason(*v, p, params, sb::device_kind::cpu)) {
    state.SkipWithError(reason->c_str());
    return;
  }
  std::vector<float> q(p.qkv_elements()), k(p.qkv_elements()), val(p.qkv_elements());
  for (auto [buf, stream] : {std::pair{&q, sb::rng_stream::dataset_q}, std::pair{&k, sb::rng_stream::dataset_k},
                             std::pair{&val, sb::rng_stream::dataset_v}}) {
    sb::counter_rng rng(0, stream);
    for (auto& x : *buf) x = static_cast<float>(rng.normal());
  }
  std::unique_ptr<sb::attention_instance> inst;
  try {
    inst = v->instantiate(p, params, sb::device_kind::cpu);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  sb::tracked_buffer<float> out(p.qkv_elements());
  sb::run_context ctx;
  auto& tracker = sb::memory_tracker::instance();
  const std::size_t before = tracker.current_bytes();
  tracker.reset_peak();
  for (auto _ : state) {
    inst->run({q.data(), k.data(), val.data()}, out.data(), ctx);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["peak_mem_bytes"] = static_cast<double>(tracker.peak_bytes() - before);
  state.counters["flops_executed"] =
      benchmark::Counter(v->flops(p, params).executed, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  for (const auto* v : sb::variant_registry::instance().all()) {
    if (!v->caps().cpu) continue;
    for (bool causal : {false, true}) {
      if ((causal && !v->caps().causal) || (!causal && !v->caps().non_causal)) continue;
      const std::string name = std::string(v->name()) + (causal ? "/causal" : "/noncausal");
      benchmark::RegisterBenchmark(name.c_str(), run_variant, v, causal)
          ->ArgName("T")
          ->RangeMultiplier(4)
          ->Range(256, 4096)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();  // wall time: the BLAS threads run outside the benchmark thread
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
