// Google Benchmark micro-benchmarks of the CPU attention kernels, through the registry, so every
// registered variant can be benchmarked the same way.
//   build/bin/seabench_microbench --benchmark_format=json --benchmark_out=micro.json
#include <benchmark/benchmark.h>

#include <vector>

#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"

namespace {

void run_variant(benchmark::State& state, const char* name, bool causal) {
  const auto* v = sb::variant_registry::instance().find(name);
  sb::problem p;
  p.seq_len = static_cast<int>(state.range(0));
  p.heads = 4;
  p.head_dim = 64;
  p.causal = causal;
  std::vector<float> q(p.qkv_elements()), k(p.qkv_elements()), val(p.qkv_elements()), out(p.qkv_elements());
  sb::counter_rng rng(0, sb::rng_stream::dataset_q);
  for (auto* buf : {&q, &k, &val})
    for (auto& x : *buf) x = static_cast<float>(rng.normal());
  const auto params = v->parameters().resolve(name, {});
  auto inst = v->instantiate(p, params, sb::device_kind::cpu);
  sb::run_context ctx;
  for (auto _ : state) {
    inst->run({q.data(), k.data(), val.data()}, out.data(), ctx);
    benchmark::DoNotOptimize(out.data());
  }
  const auto f = v->flops(p, params);
  state.counters["flops_executed"] = benchmark::Counter(f.executed, benchmark::Counter::kIsIterationInvariantRate);
}

void bm_dense(benchmark::State& s) { run_variant(s, "dense", false); }
void bm_dense_causal(benchmark::State& s) { run_variant(s, "dense", true); }
void bm_dense_stream(benchmark::State& s) { run_variant(s, "dense_stream", false); }
void bm_dense_stream_causal(benchmark::State& s) { run_variant(s, "dense_stream", true); }

}  // namespace

BENCHMARK(bm_dense)->ArgName("T")->RangeMultiplier(2)->Range(256, 2048)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_dense_causal)->ArgName("T")->RangeMultiplier(2)->Range(256, 2048)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_dense_stream)->ArgName("T")->RangeMultiplier(2)->Range(256, 2048)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_dense_stream_causal)->ArgName("T")->RangeMultiplier(2)->Range(256, 2048)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
