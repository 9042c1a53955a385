#include "harness/cuda/device_info.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <array>

#include <fmt/format.h>

#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/nvml.hpp"

namespace sb::cuda {

gpu_environment query_environment(int device) {
  gpu_environment e;
  cudaDeviceProp prop{};
  SB_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  e.name = prop.name;
  e.cc_major = prop.major;
  e.cc_minor = prop.minor;
  e.sm_count = prop.multiProcessorCount;
  e.total_mem_bytes = prop.totalGlobalMem;
  int l2 = 0;
  SB_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
  e.l2_bytes = static_cast<std::size_t>(l2);
  SB_CUDA_CHECK(cudaRuntimeGetVersion(&e.runtime_version));
  SB_CUDA_CHECK(cudaDriverGetVersion(&e.driver_api_version));
  int major = 0, minor = 0, patch = 0;
  SB_CUBLAS_CHECK(cublasGetProperty(MAJOR_VERSION, &major));
  SB_CUBLAS_CHECK(cublasGetProperty(MINOR_VERSION, &minor));
  SB_CUBLAS_CHECK(cublasGetProperty(PATCH_LEVEL, &patch));
  e.cublas_version = fmt::format("{}.{}.{}", major, minor, patch);
  e.driver = nvml_library::instance().driver_version().value_or("");
  return e;
}

std::string pci_bus_id(int device) {
  std::array<char, 32> buf{};
  SB_CUDA_CHECK(cudaDeviceGetPCIBusId(buf.data(), static_cast<int>(buf.size()), device));
  return buf.data();
}

std::optional<unsigned> current_sm_clock_mhz(int device) {
  auto& nvml = nvml_library::instance();
  if (!nvml.available()) return std::nullopt;
  return nvml.sm_clock_mhz(pci_bus_id(device));
}

std::optional<unsigned> reference_sm_clock_mhz(int device) {
  auto& nvml = nvml_library::instance();
  if (!nvml.available()) return std::nullopt;
  return nvml.reference_sm_clock_mhz(pci_bus_id(device));
}

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
