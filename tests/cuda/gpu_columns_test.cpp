// The GPU columns of a results row, assembled from plain facts (no device needed).
#include <catch2/catch.hpp>

#include "harness/cuda/gpu_columns.hpp"
#include "harness/cuda/nvml.hpp"

using namespace sb::cuda;

TEST_CASE("CUDA integer versions format as major.minor", "[cuda][columns]") {
  CHECK(format_cuda_version(13000) == "13.0");
  CHECK(format_cuda_version(12040) == "12.4");
  CHECK(format_cuda_version(11080) == "11.8");
  CHECK(format_cuda_version(0).empty());
}

TEST_CASE("environment columns name the device and the CUDA stack", "[cuda][columns]") {
  gpu_environment e;
  e.name = "NVIDIA H200";
  e.cc_major = 9;
  e.cc_minor = 0;
  e.sm_count = 132;
  e.l2_bytes = 62914560;
  e.runtime_version = 13000;
  e.driver_api_version = 13000;
  e.cublas_version = "13.0.2";
  auto j = environment_columns(e);
  CHECK(j["device_name"] == "NVIDIA H200");
  CHECK(j["compute_capability"] == "9.0");
  CHECK(j["sm_count"] == 132);
  CHECK(j["l2_cache_bytes"] == 62914560);
  CHECK(j["cuda_runtime"] == "13.0");
  CHECK(j["driver_cuda_version"] == "13.0");
  CHECK(j["cublas_version"] == "13.0.2");
  CHECK(j["driver"].is_null());  // no NVML: empty cell
  e.driver = "580.159.04";
  CHECK(environment_columns(e)["driver"] == "580.159.04");
}

TEST_CASE("clock columns: empty without NVML, throttled below 75 % of the reference", "[cuda][columns]") {
  auto none = clock_columns({});
  CHECK(none["sm_clock_mhz_start"].is_null());
  CHECK(none["sm_clock_mhz_end"].is_null());
  CHECK(none["throttled"].is_null());

  sm_clocks c{1980u, 1965u, 1980u};
  auto j = clock_columns(c);
  CHECK(j["sm_clock_mhz_start"] == 1980);
  CHECK(j["sm_clock_mhz_end"] == 1965);
  CHECK(j["throttled"] == false);
  c.end_mhz = 1400u;  // 70.7 % of 1980
  CHECK(clock_columns(c)["throttled"] == true);
  c.reference_mhz.reset();
  CHECK(clock_columns(c)["throttled"].is_null());

  CHECK(is_throttled(1484, 1980));
  CHECK_FALSE(is_throttled(1485, 1980));  // exactly 75 %
}

TEST_CASE("NVML that cannot be loaded reads as unavailable, never as a value", "[cuda][nvml]") {
  nvml_library lib("libseabench-no-such-library.so.1");
  CHECK_FALSE(lib.available());
  CHECK_FALSE(lib.unavailable_reason().empty());
  CHECK_FALSE(lib.driver_version().has_value());
  CHECK_FALSE(lib.sm_clock_mhz("0000:00:00.0").has_value());
  CHECK_FALSE(lib.reference_sm_clock_mhz("0000:00:00.0").has_value());
}
