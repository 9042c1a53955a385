#include "harness/cuda/nvml.hpp"

#include <dlfcn.h>

#include <array>
#include <type_traits>

namespace sb::cuda {
namespace {

// The few NVML declarations used, with the ABI of nvml.h (not installed on development machines).
using nvml_return = int;  // nvmlReturn_t; NVML_SUCCESS = 0
struct nvml_device_st;
using nvml_device = nvml_device_st*;  // nvmlDevice_t
constexpr int nvml_clock_sm = 1;      // nvmlClockType_t NVML_CLOCK_SM

}  // namespace

struct nvml_library::api {
  nvml_return (*init)() = nullptr;
  nvml_return (*shutdown)() = nullptr;
  nvml_return (*driver_version)(char*, unsigned) = nullptr;
  nvml_return (*by_pci_bus_id)(const char*, nvml_device*) = nullptr;
  nvml_return (*clock_info)(nvml_device, int, unsigned*) = nullptr;
  nvml_return (*default_app_clock)(nvml_device, int, unsigned*) = nullptr;
  nvml_return (*max_clock_info)(nvml_device, int, unsigned*) = nullptr;
};

nvml_library::nvml_library(const char* soname) {
  m_lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!m_lib) {
    const char* why = dlerror();
    m_reason = why ? why : "dlopen failed";
    return;
  }
  m_api = new api;
  auto load = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(m_lib, name));
    if (!fn && m_reason.empty()) m_reason = std::string("missing NVML symbol ") + name;
  };
  load(m_api->init, "nvmlInit_v2");
  load(m_api->shutdown, "nvmlShutdown");
  load(m_api->driver_version, "nvmlSystemGetDriverVersion");
  load(m_api->by_pci_bus_id, "nvmlDeviceGetHandleByPciBusId_v2");
  load(m_api->clock_info, "nvmlDeviceGetClockInfo");
  load(m_api->default_app_clock, "nvmlDeviceGetDefaultApplicationsClock");
  load(m_api->max_clock_info, "nvmlDeviceGetMaxClockInfo");
  if (!m_reason.empty()) return;
  if (m_api->init() != 0) {
    m_reason = "nvmlInit_v2 failed";
    return;
  }
  m_ready = true;
}

nvml_library::~nvml_library() {
  if (m_ready) m_api->shutdown();
  delete m_api;
  if (m_lib) dlclose(m_lib);
}

nvml_library& nvml_library::instance() {
  static nvml_library* lib = new nvml_library();  // never unloaded: no NVML calls during static destruction
  return *lib;
}

std::optional<std::string> nvml_library::driver_version() const {
  if (!m_ready) return std::nullopt;
  std::array<char, 96> buf{};
  if (m_api->driver_version(buf.data(), static_cast<unsigned>(buf.size())) != 0) return std::nullopt;
  return std::string(buf.data());
}

std::optional<unsigned> nvml_library::sm_clock_mhz(const std::string& pci_bus_id) const {
  if (!m_ready) return std::nullopt;
  nvml_device dev = nullptr;
  unsigned mhz = 0;
  if (m_api->by_pci_bus_id(pci_bus_id.c_str(), &dev) != 0) return std::nullopt;
  if (m_api->clock_info(dev, nvml_clock_sm, &mhz) != 0) return std::nullopt;
  return mhz;
}

std::optional<unsigned> nvml_library::reference_sm_clock_mhz(const std::string& pci_bus_id) const {
  if (!m_ready) return std::nullopt;
  nvml_device dev = nullptr;
  unsigned mhz = 0;
  if (m_api->by_pci_bus_id(pci_bus_id.c_str(), &dev) != 0) return std::nullopt;
  if (m_api->default_app_clock(dev, nvml_clock_sm, &mhz) == 0 && mhz > 0) return mhz;
  if (m_api->max_clock_info(dev, nvml_clock_sm, &mhz) == 0 && mhz > 0) return mhz;
  return std::nullopt;
}

}  // namespace sb::cuda
