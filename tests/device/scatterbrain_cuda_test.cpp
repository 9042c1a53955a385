// scatterbrain on CUDA against the CPU scatterbrain: the same LSH rotations and Performer projection
// (drawn on the host from the seed), so in fp32 the same output (≤ 1e-4) in both combine modes and the
// same exact-key support, compared through its size Σ|S_i| (scatterbrain_exact_keys_per_query, which
// must be equal, not close: one key more or less on any row changes it); fp16/bf16 on the rounded
// inputs; the causal canary in both modes; one call's pool peak within the CUDA memory model and
// linear in T. Host-side: CPU dtypes, CUDA caps and the CUDA memory model.
#include "tests/device/sparse_cuda_test_util.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness/core/errors.hpp"
#include "harness/cuda/device_memory_model.hpp"

using namespace sb;

namespace {

#ifdef SEABENCH_HAVE_CUDA
/// fp32: output within 1e-4 of the CPU and the same support size (so the same support).
void check_fp32_with_support_size(const attention_variant& v, problem p, const param_set& params,
                                  std::uint64_t data_seed) {
  cuda::context::instance().set_allow_tf32(false);
  p.type = dtype::fp32;
  INFO("scatterbrain " << params.canonical() << " B=" << p.batch << " H=" << p.heads << " T=" << p.seq_len
                       << " D=" << p.head_dim << " k=" << p.k.value_or(0) << " causal=" << p.causal);
  const auto q = test::normal_tensor(p.qkv_elements(), data_seed, 1),
             k = test::normal_tensor(p.qkv_elements(), data_seed, 2),
             vv = test::normal_tensor(p.qkv_elements(), data_seed, 3);
  auto cpu_instance = v.instantiate(p, params, device_kind::cpu);
  std::vector<float> cpu(p.qkv_elements());
  run_context cpu_ctx;
  cpu_instance->run({q.data(), k.data(), vv.data()}, cpu.data(), cpu_ctx);
  run_context gpu_ctx;
  const auto gpu = test::run_on_cuda(v, p, params, q, k, vv, &gpu_ctx);
  CHECK(test::rel_fro(gpu, cpu) <= 1e-4);
  REQUIRE(gpu_ctx.extras.count("scatterbrain_exact_keys_per_query") == 1);
  CHECK(gpu_ctx.extras.at("scatterbrain_exact_keys_per_query") ==
        cpu_ctx.extras.at("scatterbrain_exact_keys_per_query"));
  CHECK(gpu_ctx.extras.at("performer_features") == cpu_ctx.extras.at("performer_features"));
}
#endif

}  // namespace

TEST_CASE("scatterbrain on CUDA matches the CPU: both combine modes, support size, half types",
          "[gpu][scatterbrain][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("scatterbrain");
  REQUIRE(v);
  const u::shape shapes[] = {{1, 1, 1, 32}, {2, 3, 129, 64}, {1, 2, 300, 24}};
  for (const auto& s : shapes)
    for (bool causal : {false, true})
      for (int k : {16, s.t})  // k = T: one chunk, every visible key exact (the exact setting)
        for (std::int64_t n_hashes : {1, 4})
          for (const char* combine : {"sum", "corrected"}) {
            const problem p = u::make_problem(s, causal, k);
            const auto params = u::resolve(*v, {{"n_hashes", n_hashes}, {"combine", std::string(combine)}});
            check_fp32_with_support_size(*v, p, params, 181);
            if (s.t == 129 && k == 16 && n_hashes == 4) u::check_half_types(*v, p, params, 182);
          }
  // Fewer features (nbf), √d row norms, explicit buckets, and sum with the ReLU kernel.
  const problem p = u::make_problem({1, 2, 200, 32}, false, 20);
  for (const char* combine : {"sum", "corrected"}) {
    check_fp32_with_support_size(
        *v, p, u::resolve(*v, {{"combine", std::string(combine)}, {"nbf", std::int64_t{4}}}), 183);
    check_fp32_with_support_size(
        *v, p, u::resolve(*v, {{"combine", std::string(combine)}, {"ortho_scaling", std::int64_t{1}}}), 184);
    check_fp32_with_support_size(
        *v, p, u::resolve(*v, {{"combine", std::string(combine)}, {"n_buckets", std::int64_t{6}}}), 185);
  }
  check_fp32_with_support_size(*v, p, u::resolve(*v, {{"kernel", std::string("relu")}}), 186);
#endif
}

TEST_CASE("scatterbrain on CUDA: the exact setting is exact attention", "[gpu][scatterbrain][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("scatterbrain");
  REQUIRE(v);
  cuda::context::instance().set_allow_tf32(false);
  for (bool causal : {false, true}) {
    const problem p = u::make_problem({1, 2, 160, 64}, causal, std::nullopt);
    const auto exact = v->exact_setting(p);
    REQUIRE(exact);
    problem pe = p;
    pe.k = exact->k;
    const auto params = u::resolve(*v, exact->params);
    const auto q = test::normal_tensor(p.qkv_elements(), 187, 1), k = test::normal_tensor(p.qkv_elements(), 187, 2),
               vv = test::normal_tensor(p.qkv_elements(), 187, 3);
    INFO("causal=" << causal);
    CHECK(test::rel_fro(test::run_on_cuda(*v, pe, params, q, k, vv), test::exact_output(pe, q, k, vv)) <= 1e-5);
  }
#endif
}

TEST_CASE("scatterbrain on CUDA is causal (canary)", "[gpu][scatterbrain][sparse_cuda][causal]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  namespace u = test::sparse_cuda;
  const auto* v = variant_registry::instance().find("scatterbrain");
  for (const char* combine : {"sum", "corrected"})
    u::check_causal_canary(*v, u::make_problem({1, 2, 160, 32}, true, 16),
                           u::resolve(*v, {{"n_hashes", std::int64_t{4}}, {"combine", std::string(combine)}}), 188);
#endif
}

TEST_CASE("scatterbrain: half types are CUDA-only; CUDA caps and a linear memory model", "[scatterbrain]") {
  const auto* v = variant_registry::instance().find("scatterbrain");
  REQUIRE(v);
  problem p;
  p.batch = 1;
  p.heads = 2;
  p.seq_len = 64;
  p.head_dim = 32;
  p.k = 16;
  p.type = dtype::fp16;
  const auto params = v->parameters().resolve("scatterbrain", {{"combine", std::string("corrected")}});
  CHECK_THROWS_AS(v->instantiate(p, params, device_kind::cpu), unsupported_case);
#ifdef SEABENCH_HAVE_CUDA
  CHECK(v->caps().cuda);
  const auto& types = v->caps().dtypes;
  for (dtype t : {dtype::fp32, dtype::fp16, dtype::bf16})
    CHECK(std::find(types.begin(), types.end(), t) != types.end());
  // Linear in T at a fixed chunk k (the index, features and sums are all O(T)): doubling T at most
  // doubles the model, and it does grow.
  for (const char* combine : {"sum", "corrected"})
    for (bool causal : {false, true})
      for (dtype type : {dtype::fp32, dtype::bf16}) {
        problem a = p;
        a.type = type;
        a.causal = causal;
        a.seq_len = 1024;
        problem b = a;
        b.seq_len = 2048;
        const auto pa = v->parameters().resolve("scatterbrain", {{"combine", std::string(combine)}});
        const std::size_t ma = cuda::cuda_analytic_memory_bytes(*v, a, pa);
        const std::size_t mb = cuda::cuda_analytic_memory_bytes(*v, b, pa);
        INFO(combine << " causal=" << causal << " " << to_string(type) << " " << ma << " -> " << mb);
        CHECK(mb > ma);
        CHECK(mb <= 2 * ma + 64);
        // At least the output and, for corrected, the key and query features (m = floor(d ln d)).
        const std::size_t out = a.qkv_elements() * dtype_bytes(type);
        const std::size_t m = static_cast<std::size_t>(std::floor(32 * std::log(32.0)));
        CHECK(ma >= out + (std::string(combine) == "corrected" ? 2 * a.rows() * m * sizeof(float) : out));
      }
#endif
}

TEST_CASE("scatterbrain CUDA peak memory: within the CUDA model and linear in T", "[gpu][scatterbrain][sparse_cuda]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const auto* v = variant_registry::instance().find("scatterbrain");
  REQUIRE(v);
  auto& cx = cuda::context::instance();
  const cudaStream_t s = cx.stream();
  // T large enough that the features, sums and index (hundreds of MiB) dominate the pool's rounding
  // of the ~17 live buffers (a few MiB each at most).
  std::map<std::string, std::vector<double>> peaks;
  for (int t : {32768, 65536}) {
    const problem shape = test::sparse_cuda::make_problem({1, 2, t, 64}, false, 64);
    const std::size_t n = shape.qkv_elements();
    const auto dq = test::to_device(test::normal_tensor(n, 189, 1), dtype::fp16),
               dk = test::to_device(test::normal_tensor(n, 189, 2), dtype::fp16),
               dv = test::to_device(test::normal_tensor(n, 189, 3), dtype::fp16);
    for (const char* combine : {"sum", "corrected"})
      for (bool causal : {false, true}) {
        problem p = shape;
        p.causal = causal;
        p.type = dtype::fp16;
        const auto params = v->parameters().resolve("scatterbrain", {{"combine", std::string(combine)}});
        INFO(combine << " causal=" << causal << " T=" << t);
        auto instance = v->instantiate(p, params, device_kind::cuda);
        SB_CUDA_CHECK(cudaStreamSynchronize(s));
        cx.pool().reset_peak(s);
        {
          cuda::device_buffer<std::byte> out(n * dtype_bytes(p.type), s);
          run_context ctx;
          instance->run({reinterpret_cast<const float*>(dq.data()), reinterpret_cast<const float*>(dk.data()),
                         reinterpret_cast<const float*>(dv.data())},
                        reinterpret_cast<float*>(out.data()), ctx);
          SB_CUDA_CHECK(cudaStreamSynchronize(s));
        }
        const double peak = static_cast<double>(cx.pool().peak_used_above_reset(s));
        const double model = static_cast<double>(cuda::cuda_analytic_memory_bytes(*v, p, params));
        CHECK(peak <= 1.05 * model + (40 << 20));  // the model bounds what the pool handed out (+ rounding)
        CHECK(peak >= 0.8 * model);                // and is not loose
        peaks[std::string(combine) + (causal ? "/causal" : "/noncausal")].push_back(peak);
        instance.reset();
        cx.pool().trim(s);
      }
  }
  for (const auto& [name, pk] : peaks) {
    INFO(name << ": peaks " << pk[0] << " " << pk[1]);
    CHECK(pk[1] / pk[0] >= 1.7);  // doubling T doubles the peak (linear memory; quadratic would be 4×)
    CHECK(pk[1] / pk[0] <= 2.3);
  }
#endif
}
