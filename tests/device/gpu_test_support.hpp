// Shared by the [gpu] tests: the skip guard (Catch2 v2 has no SKIP(); measurement.md §10) and
// helpers that run a variant on the device from host fp32 tensors.
//
// Every [gpu] TEST_CASE starts with SB_REQUIRE_GPU_OR_SKIP(). Without a usable device it WARNs
// "SKIP-GPU: ..." and returns: CTest reports the test as Skipped (SKIP_REGULAR_EXPRESSION), and
// scripts/gpu-check.sh fails if the marker appears on the GPU machine, so a skipped GPU test can
// never pass as run.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#ifdef SEABENCH_HAVE_CUDA
#include <cuda_runtime.h>

#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/dtype_codec.hpp"
#include "harness/metrics/exact_reference.hpp"
#endif

namespace sb::test {

/// Empty when a CUDA device is usable, else why not.
inline std::string gpu_unavailable_reason() {
#ifdef SEABENCH_HAVE_CUDA
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return std::string("no CUDA device (cudaGetDeviceCount: ") + cudaGetErrorName(e) + ")";
  }
  if (n == 0) return "no CUDA device (count 0)";
  return {};
#else
  return "this build has no CUDA (configured without nvcc or with -DSEABENCH_ENABLE_CUDA=OFF)";
#endif
}

}  // namespace sb::test

#define SB_REQUIRE_GPU_OR_SKIP()                                           \
  do {                                                                     \
    const std::string sb_gpu_reason_ = ::sb::test::gpu_unavailable_reason(); \
    if (!sb_gpu_reason_.empty()) {                                         \
      WARN("SKIP-GPU: " << sb_gpu_reason_);                                \
      return;                                                              \
    }                                                                      \
  } while (0)

#ifdef SEABENCH_HAVE_CUDA
namespace sb::test {

inline std::vector<float> normal_tensor(std::size_t n, std::uint64_t seed, std::uint64_t stream, double scale = 1.0) {
  counter_rng rng(seed, stream);
  std::vector<float> x(n);
  for (auto& e : x) e = static_cast<float>(scale * rng.normal());
  return x;
}

/// ‖a − b‖_F / ‖b‖_F in fp64.
inline double rel_fro(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}
inline double rel_fro(const std::vector<float>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / den);
}

/// The fp64 exact output of every row, [B, H, T, D] (the metrics' reference).
inline std::vector<double> exact_output(const problem& p, const std::vector<float>& q, const std::vector<float>& k,
                                        const std::vector<float>& v) {
  std::vector<std::int64_t> rows(p.rows());
  for (std::size_t r = 0; r < rows.size(); ++r) rows[r] = static_cast<std::int64_t>(r);
  return exact_reference(p, q.data(), k.data(), v.data(), rows).out;
}

/// One input tensor on the device in the problem's dtype.
inline cuda::device_buffer<std::byte> to_device(const std::vector<float>& host, dtype type) {
  const cudaStream_t s = cuda::context::instance().stream();
  const auto bytes = cuda::encode_elements(type, host);
  cuda::device_buffer<std::byte> d(bytes.size(), s);
  SB_CUDA_CHECK(cudaMemcpyAsync(d.data(), bytes.data(), bytes.size(), cudaMemcpyHostToDevice, s));
  SB_CUDA_CHECK(cudaStreamSynchronize(s));
  return d;
}

/// Run `v` with `params` on the device: inputs in p.type, output read back widened to fp32.
inline std::vector<float> run_on_cuda(const attention_variant& v, const problem& p, const param_set& params,
                                      const std::vector<float>& q, const std::vector<float>& k,
                                      const std::vector<float>& vv, run_context* ctx = nullptr) {
  const cudaStream_t s = cuda::context::instance().stream();
  const auto dq = to_device(q, p.type), dk = to_device(k, p.type), dv = to_device(vv, p.type);
  auto instance = v.instantiate(p, params, device_kind::cuda);
  cuda::device_buffer<std::byte> out(p.qkv_elements() * dtype_bytes(p.type), s);
  run_context local;
  instance->run({reinterpret_cast<const float*>(dq.data()), reinterpret_cast<const float*>(dk.data()),
                 reinterpret_cast<const float*>(dv.data())},
                reinterpret_cast<float*>(out.data()), ctx ? *ctx : local);
  SB_CUDA_CHECK(cudaStreamSynchronize(s));
  std::vector<std::byte> bytes(out.bytes());
  SB_CUDA_CHECK(cudaMemcpy(bytes.data(), out.data(), bytes.size(), cudaMemcpyDeviceToHost));
  std::vector<float> host(p.qkv_elements());
  cuda::decode_elements(p.type, bytes.data(), host);
  return host;
}

/// Run `v` on the CPU (fp32).
inline std::vector<float> run_on_cpu(const attention_variant& v, const problem& p, const param_set& params,
                                     const std::vector<float>& q, const std::vector<float>& k,
                                     const std::vector<float>& vv) {
  auto instance = v.instantiate(p, params, device_kind::cpu);
  std::vector<float> out(p.qkv_elements());
  run_context ctx;
  instance->run({q.data(), k.data(), vv.data()}, out.data(), ctx);
  return out;
}

}  // namespace sb::test
#endif  // SEABENCH_HAVE_CUDA
