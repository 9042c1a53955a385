#include "harness/cuda/device_case.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <cuda_runtime.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/cuda_timer.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/device_info.hpp"
#include "harness/cuda/device_memory_model.hpp"
#include "harness/cuda/dtype_codec.hpp"
#include "harness/metrics/accuracy.hpp"
#include "harness/metrics/exact_reference.hpp"
#include "harness/metrics/reference_rows.hpp"
#include "harness/metrics/sample_stats.hpp"
#include "harness/runner/result_columns.hpp"

namespace sb::cuda {
namespace {


std::size_t free_device_bytes() {
  std::size_t free = 0, total = 0;
  SB_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return free;
}

/// One input tensor on the device in the case dtype.
device_buffer<std::byte> upload(const std::vector<float>& host, dtype type, cudaStream_t stream) {
  device_buffer<std::byte> d(host.size() * dtype_bytes(type), stream);
  if (type == dtype::fp32) {
    SB_CUDA_CHECK(cudaMemcpyAsync(d.data(), host.data(), d.bytes(), cudaMemcpyHostToDevice, stream));
  } else {
    const std::vector<std::byte> encoded = encode_elements(type, host);
    SB_CUDA_CHECK(cudaMemcpyAsync(d.data(), encoded.data(), d.bytes(), cudaMemcpyHostToDevice, stream));
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));  // `encoded` dies here
  }
  return d;
}

}  // namespace

void run_case_on_cuda(const case_spec& c, const qkv_host& in, const attention_variant& v, nlohmann::json& row,
                      const case_options& o) {
  context& cx = context::instance();
  cx.set_allow_tf32(o.allow_tf32);
  const cudaStream_t stream = cx.stream();
  device_pool& pool = cx.pool();
  const gpu_environment& env = cx.environment();
  row.update(environment_columns(env));
  row["l2"] = o.cold_l2 ? "cold" : "hot";
  row["tf32"] = o.allow_tf32 && c.prob.type == dtype::fp32;
  sm_clocks clocks;
  clocks.reference_mhz = reference_sm_clock_mhz(cx.device());
  clocks.start_mhz = current_sm_clock_mhz(cx.device());
  row.update(clock_columns(clocks));

  const problem& p = c.prob;
  const std::size_t n = p.qkv_elements();
  if (in.q.size() != n || in.k.size() != n || in.v.size() != n)
    throw data_error(fmt::format("inputs hold {}/{}/{} elements, the problem needs {} each", in.q.size(), in.k.size(),
                                 in.v.size(), n));
  const std::size_t elem = dtype_bytes(p.type);
  const std::size_t analytic = cuda_analytic_memory_bytes(v, p, c.params);
  row["analytic_mem_bytes"] = analytic;

  // Predicted OOM: do not attempt a case whose model cannot fit next to its inputs.
  const std::size_t input_bytes = 3 * n * elem;
  const std::size_t available = pool.available_bytes();
  if (input_bytes + analytic > available)
    throw out_of_memory(fmt::format("predicted {} bytes above {} bytes of inputs; {} bytes available on the device",
                                    analytic, input_bytes, available),
                        analytic);

  {
    const device_buffer<std::byte> dq = upload(in.q, p.type, stream), dk = upload(in.k, p.type, stream),
                                   dv = upload(in.v, p.type, stream);
    const qkv_view view{reinterpret_cast<const float*>(dq.data()), reinterpret_cast<const float*>(dk.data()),
                        reinterpret_cast<const float*>(dv.data())};
    auto instance = v.instantiate(p, c.params, device_kind::cuda);
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));

    // --- memory: one call in a clean peak window (output included, inputs and set-up excluded) ---
    const std::size_t free_before = free_device_bytes();
    pool.reset_peak(stream);
    {
      device_buffer<std::byte> out(n * elem, stream);
      run_context ctx;
      instance->run(view, reinterpret_cast<float*>(out.data()), ctx);
      SB_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
    row["peak_mem_bytes"] = pool.peak_used_above_reset(stream);
    row["peak_mem_reserved_bytes"] = pool.peak_reserved_above_reset(stream);
    const std::size_t free_after = free_device_bytes();  // the pool keeps what it reserved
    row["device_mem_delta_bytes"] = free_before > free_after ? free_before - free_after : 0;

    // --- timing: CUDA events on the stream, cold L2 ---
    device_buffer<std::byte> out(n * elem, stream);
    float* out_ptr = reinterpret_cast<float*>(out.data());
    std::map<std::string, std::vector<double>> extras;
    run_context timed_ctx;
    const gpu_timing t = measure_cuda(
        [&] {
          timed_ctx.extras.clear();
          instance->run(view, out_ptr, timed_ctx);
        },
        stream, c.measure, o.cold_l2, env.l2_bytes,
        [&](std::size_t) {
          for (const auto& [name, value] : timed_ctx.extras) extras[name].push_back(value);
        });
    clocks.end_mhz = current_sm_clock_mhz(cx.device());
    row.update(clock_columns(clocks));
    add_latency_columns(row, t.ms, t.stop_reason, v.flops(p, c.params).executed);
    add_extra_medians(row, extras);

    // --- accuracy: an untimed call (with the support when the variant exposes one) ---
    attention_support support;
    run_context acc_ctx;
    if (v.caps().exposes_support) acc_ctx.support = &support;
    instance->run(view, out_ptr, acc_ctx);
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (const auto& [name, value] : acc_ctx.extras)
      if (!row.contains(name)) row[name] = value;
    std::vector<std::byte> out_bytes(n * elem);
    SB_CUDA_CHECK(cudaMemcpyAsync(out_bytes.data(), out.data(), out_bytes.size(), cudaMemcpyDeviceToHost, stream));
    SB_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::vector<float> out_host(n);
    decode_elements(p.type, out_bytes.data(), out_host);
    out_bytes = {};

    // The reference sees what the device saw: the inputs rounded to the case dtype.
    const bool fp32 = p.type == dtype::fp32;
    const std::vector<float> qr = fp32 ? std::vector<float>{} : round_through(p.type, in.q);
    const std::vector<float> kr = fp32 ? std::vector<float>{} : round_through(p.type, in.k);
    const std::vector<float> vr = fp32 ? std::vector<float>{} : round_through(p.type, in.v);
    const float* q = fp32 ? in.q.data() : qr.data();
    const float* k = fp32 ? in.k.data() : kr.data();
    const float* vv = fp32 ? in.v.data() : vr.data();
    const auto ref = exact_reference(p, q, k, vv, choose_reference_rows(p, c.measure), o.threads);
    const accuracy_report acc =
        compute_accuracy(p, q, k, vv, out_host.data(), ref, acc_ctx.support ? &support : nullptr, o.threads);
    row["reference"] = "fp64_cpu";
    add_accuracy_columns(row, acc);
  }
  pool.trim(stream);  // hand the case's memory back (matters when several cases share a process)
}

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
