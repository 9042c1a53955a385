// One case through the device path (harness/cuda/device_case.hpp), as the worker runs it: the row
// has the CPU path's columns with values that make sense, memory matches the analytic model, the
// GPU columns are filled, and a case that cannot fit is an oom row predicted without allocating.
#include "tests/device/gpu_test_support.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include "harness/core/case_spec.hpp"
#include "harness/core/dataset.hpp"
#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_timer.hpp"
#include "harness/cuda/device_case.hpp"
#include "harness/cuda/device_info.hpp"
#include "harness/cuda/nvml.hpp"
#endif

using namespace sb;

#ifdef SEABENCH_HAVE_CUDA
namespace {

case_spec make_case(const std::string& variant, int heads, int t, int d, dtype type, bool causal) {
  case_spec c;
  c.variant = variant;
  const auto* v = variant_registry::instance().find(variant);
  c.params = v->parameters().resolve(variant, {});
  c.prob.batch = 1;
  c.prob.heads = heads;
  c.prob.seq_len = t;
  c.prob.head_dim = d;
  c.prob.type = type;
  c.prob.causal = causal;
  c.prob.seed = 3;
  c.device = device_kind::cuda;
  c.dataset = {{"kind", "gaussian"}};
  c.measure.warmup_calls = 2;
  c.measure.warmup_min_s = 0.005;
  c.measure.min_samples = 5;
  c.measure.min_time_s = 0.01;
  c.measure.max_time_s = 0.5;
  c.measure.max_samples = 100;
  return c;
}

qkv_host inputs_for(const problem& p) {
  qkv_host in;
  in.q = test::normal_tensor(p.qkv_elements(), p.seed, 1);
  in.k = test::normal_tensor(p.qkv_elements(), p.seed, 2);
  in.v = test::normal_tensor(p.qkv_elements(), p.seed, 3);
  return in;
}

}  // namespace
#endif

TEST_CASE("a device case fills the CPU path's columns and the GPU columns", "[gpu][device_case]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  for (const char* name : {"dense", "dense_stream"}) {
    for (dtype t : {dtype::fp32, dtype::fp16}) {
      const case_spec c = make_case(name, 2, 2048, 64, t, true);
      const auto* v = variant_registry::instance().find(name);
      nlohmann::json row;
      cuda::run_case_on_cuda(c, inputs_for(c.prob), *v, row);
      INFO(name << " " << to_string(t) << ": " << row.dump());
      CHECK(row["status"] == "ok");
      const double analytic = row["analytic_mem_bytes"].get<double>();
      const double peak = row["peak_mem_bytes"].get<double>();
      CHECK(peak >= analytic * 0.9);
      CHECK(peak <= analytic * 1.1);
      CHECK(row["peak_mem_reserved_bytes"].get<double>() <= peak * 1.1 + (4 << 20));
      CHECK(row.contains("device_mem_delta_bytes"));
      CHECK(row["latency_ms_median"].get<double>() > 0);
      CHECK(row["latency_ms_p10"].get<double>() <= row["latency_ms_median"].get<double>());
      CHECK(row["latency_ms_median"].get<double>() <= row["latency_ms_p90"].get<double>());
      CHECK(row["samples"].get<int>() >= c.measure.min_samples);
      CHECK_FALSE(row["stop_reason"].get<std::string>().empty());
      CHECK(row["rel_err"].get<double>() <= (t == dtype::fp32 ? 1e-5 : 5e-3));
      CHECK(row["nonfinite_outputs"] == 0);
      CHECK(row["keys_per_query"].get<double>() == Approx(2049 / 2.0));
      CHECK(row["reference"] == "fp64_cpu");
      CHECK(row["l2"] == "cold");
      CHECK(row["tf32"] == false);
      CHECK_FALSE(row["device_name"].get<std::string>().empty());
      CHECK_FALSE(row["cuda_runtime"].get<std::string>().empty());
      CHECK_FALSE(row["cublas_version"].get<std::string>().empty());
      CHECK(row["sm_count"].get<int>() > 0);
      if (cuda::nvml_library::instance().available()) {
        CHECK(row["sm_clock_mhz_start"].get<int>() > 0);
        CHECK(row["sm_clock_mhz_end"].get<int>() > 0);
        CHECK(row["driver"].is_string());
      } else {
        WARN("NVML not loadable here (" << cuda::nvml_library::instance().unavailable_reason()
                                         << "): clock columns stay empty");
        CHECK(row["sm_clock_mhz_start"].is_null());
      }
    }
  }
#endif
}

TEST_CASE("a device case that cannot fit is predicted out of memory", "[gpu][device_case]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  // T = 256k materialises 2^36 fp32 scores (256 GiB) for a single head: more than any current GPU.
  const case_spec c = make_case("dense", 1, 262144, 16, dtype::fp16, false);
  const auto* v = variant_registry::instance().find("dense");
  nlohmann::json row;
  const std::size_t used_before = cuda::context::instance().pool().used_bytes();
  try {
    cuda::run_case_on_cuda(c, inputs_for(c.prob), *v, row);
    FAIL("a 256 GiB case ran");
  } catch (const out_of_memory& e) {
    CHECK(e.requested_bytes == v->analytic_memory_bytes(c.prob, c.params));
    CHECK_THAT(e.what(), Catch::Matchers::StartsWith("predicted " + std::to_string(e.requested_bytes) + " bytes"));
  }
  CHECK(cuda::context::instance().pool().used_bytes() == used_before);  // nothing was allocated
  CHECK_FALSE(row["device_name"].get<std::string>().empty());           // environment written first
#endif
}

TEST_CASE("CUDA-event timing follows the stop rule and flushes twice the L2", "[gpu][timer]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  auto& cx = cuda::context::instance();
  const cudaStream_t s = cx.stream();
  cuda::device_buffer<std::byte> work(256u << 20, s);
  measure_settings m;
  m.warmup_calls = 3;
  m.warmup_min_s = 0.01;
  m.min_samples = 10;
  m.min_time_s = 0.02;
  m.max_samples = 200;
  m.max_time_s = 1.0;
  int calls = 0;
  std::size_t after = 0;
  const auto t = cuda::measure_cuda(
      [&] {
        ++calls;
        SB_CUDA_CHECK(cudaMemsetAsync(work.data(), calls & 0xff, work.bytes(), s));
      },
      s, m, true, cx.environment().l2_bytes, [&](std::size_t) { ++after; });
  CHECK(t.ms.size() >= 10);
  CHECK(after == t.ms.size());
  CHECK(static_cast<std::size_t>(calls) >= t.ms.size() + 3);
  for (double x : t.ms) CHECK(x > 0);
  CHECK((t.stop_reason == "converged" || t.stop_reason == "max_samples" || t.stop_reason == "max_time"));
  CHECK(t.cold_l2);
  CHECK(t.flush_bytes == 2 * cx.environment().l2_bytes);
  CHECK(cx.environment().l2_bytes > 0);
#endif
}
