#include "harness/measure/process_memory.hpp"

#include <fstream>
#include <string>

namespace sb {
namespace {

std::optional<std::uint64_t> status_field_kib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1)) * 1024;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> resident_bytes() { return status_field_kib("VmRSS"); }
std::optional<std::uint64_t> peak_resident_bytes() { return status_field_kib("VmHWM"); }

bool reset_peak_resident() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace sb
