#include "harness/cuda/gpu_columns.hpp"

#include <fmt/format.h>

namespace sb::cuda {

std::string format_cuda_version(int v) {
  if (v <= 0) return {};
  return fmt::format("{}.{}", v / 1000, (v % 1000) / 10);
}

nlohmann::json environment_columns(const gpu_environment& e) {
  nlohmann::json j;
  j["device_name"] = e.name;
  j["compute_capability"] = fmt::format("{}.{}", e.cc_major, e.cc_minor);
  j["sm_count"] = e.sm_count;
  j["l2_cache_bytes"] = e.l2_bytes;
  j["cuda_runtime"] = format_cuda_version(e.runtime_version);
  j["driver_cuda_version"] = format_cuda_version(e.driver_api_version);
  j["driver"] = e.driver.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.driver);
  j["cublas_version"] = e.cublas_version;
  return j;
}

bool is_throttled(unsigned mhz, unsigned reference_mhz) {
  return 4ull * mhz < 3ull * reference_mhz;
}

nlohmann::json clock_columns(const sm_clocks& c) {
  auto opt = [](const std::optional<unsigned>& x) { return x ? nlohmann::json(*x) : nlohmann::json(nullptr); };
  nlohmann::json j;
  j["sm_clock_mhz_start"] = opt(c.start_mhz);
  j["sm_clock_mhz_end"] = opt(c.end_mhz);
  if (c.start_mhz && c.end_mhz && c.reference_mhz && *c.reference_mhz > 0)
    j["throttled"] = is_throttled(*c.start_mhz, *c.reference_mhz) || is_throttled(*c.end_mhz, *c.reference_mhz);
  else
    j["throttled"] = nullptr;
  return j;
}

}  // namespace sb::cuda
