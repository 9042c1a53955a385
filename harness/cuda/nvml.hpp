// NVML loaded at run time (dlopen "libnvidia-ml.so.1"): development machines have no NVML, so
// nothing links against it and every reading is optional. Used for the SM clock at the start and
// end of each case and the driver version string. Host-only; compiled in every build.
#pragma once

#include <optional>
#include <string>

namespace sb::cuda {

class nvml_library {
 public:
  /// Load `soname` and initialise NVML; unavailable (every query empty) when either fails.
  explicit nvml_library(const char* soname = "libnvidia-ml.so.1");
  ~nvml_library();
  nvml_library(const nvml_library&) = delete;
  nvml_library& operator=(const nvml_library&) = delete;

  /// The process-wide instance (loaded on first use, never unloaded).
  static nvml_library& instance();

  [[nodiscard]] bool available() const { return m_ready; }
  /// Why NVML is unavailable ("" when it is available).
  [[nodiscard]] const std::string& unavailable_reason() const { return m_reason; }

  /// The driver version string, e.g. "580.159.04".
  [[nodiscard]] std::optional<std::string> driver_version() const;
  /// Current SM clock of the GPU at `pci_bus_id` (as cudaDeviceGetPCIBusId writes it), in MHz.
  [[nodiscard]] std::optional<unsigned> sm_clock_mhz(const std::string& pci_bus_id) const;
  /// The reference SM clock: the default applications clock, else the maximum SM clock.
  [[nodiscard]] std::optional<unsigned> reference_sm_clock_mhz(const std::string& pci_bus_id) const;

 private:
  struct api;
  void* m_lib = nullptr;
  api* m_api = nullptr;
  bool m_ready = false;
  std::string m_reason;
};

}  // namespace sb::cuda
