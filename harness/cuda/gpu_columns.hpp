// The GPU columns of a results row (results/SCHEMA.md, "GPU"), assembled from plain facts so the
// formatting is tested without a device: environment (name, compute capability, versions), SM
// clocks at the start and end of the case, and memory cross-checks.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace sb::cuda {

/// Facts about the device and the CUDA stack, gathered once per process (device_info.hpp).
struct gpu_environment {
  std::string name;             ///< cudaDeviceProp::name
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  std::size_t l2_bytes = 0;     ///< cudaDevAttrL2CacheSize
  std::size_t total_mem_bytes = 0;
  int runtime_version = 0;      ///< cudaRuntimeGetVersion, e.g. 13000
  int driver_api_version = 0;   ///< cudaDriverGetVersion: the newest CUDA the driver supports
  std::string driver;           ///< NVML driver version, e.g. "580.159.04"; empty without NVML
  std::string cublas_version;   ///< "major.minor.patch" of the cuBLAS library loaded
};

/// SM clock readings through NVML; each is empty when NVML is unavailable or the query failed.
struct sm_clocks {
  std::optional<unsigned> start_mhz;
  std::optional<unsigned> end_mhz;
  std::optional<unsigned> reference_mhz;  ///< default applications clock (else the max clock)
};

/// CUDA's integer versions (1000·major + 10·minor) as "major.minor": 13000 → "13.0", 12040 → "12.4".
/// Empty for 0 (unknown).
[[nodiscard]] std::string format_cuda_version(int v);

/// device_name, compute_capability ("9.0"), sm_count, l2_cache_bytes, cuda_runtime, driver
/// (NVML's string, null without NVML), driver_cuda_version, cublas_version.
[[nodiscard]] nlohmann::json environment_columns(const gpu_environment& e);

/// sm_clock_mhz_start, sm_clock_mhz_end (null when unknown) and throttled: true when a reading is
/// below 75 % of the reference clock (nvbench's rule), false when both are at or above it, null when
/// a reading or the reference is unknown.
[[nodiscard]] nlohmann::json clock_columns(const sm_clocks& c);

/// True when `mhz` is below 75 % of `reference_mhz`.
[[nodiscard]] bool is_throttled(unsigned mhz, unsigned reference_mhz);

}  // namespace sb::cuda
