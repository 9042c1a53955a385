#include "harness/runner/device_select.hpp"

#include <fmt/format.h>

#include "harness/core/errors.hpp"
#include "harness/runner/environment.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace sb {

int cuda_device_count() {
#ifdef SEABENCH_HAVE_CUDA
  int n = 0;
  // Without a driver this returns cudaErrorInsufficientDriver; with a driver but no GPU, NoDevice.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
#else
  return 0;
#endif
}

void validate_device_request(const std::string& requested) {
  if (requested == "auto" || requested == "cpu") return;
  if (requested != "cuda")
    throw config_error(fmt::format("--device '{}' is not a device (allowed: auto, cpu, cuda)", requested));
#ifndef SEABENCH_HAVE_CUDA
  throw config_error("--device cuda: this seabench was built without CUDA (nvcc was not found at configure time)");
#else
  if (cuda_device_count() == 0) throw config_error("--device cuda: no CUDA device is visible on this machine");
#endif
}

device_kind resolve_device(const std::string& requested, const attention_variant& v) {
  validate_device_request(requested);
  if (requested == "cpu") return device_kind::cpu;
  if (requested == "cuda") return device_kind::cuda;  // a variant without CUDA gets an `unsupported` row
  static const bool have_gpu = cuda_device_count() > 0;
  return have_gpu && v.caps().cuda ? device_kind::cuda : device_kind::cpu;
}

std::string device_name(device_kind d) {
  if (d == device_kind::cpu) return cpu_model_name();
#ifdef SEABENCH_HAVE_CUDA
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) return prop.name;
  cudaGetLastError();
#endif
  return "unknown";
}

}  // namespace sb
