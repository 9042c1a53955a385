// cuDNN version numbers as cudnnGetVersion() reports them, and the rule dense_cudnn applies at run
// time. Host-only and compiled in every build, so it is tested without a GPU or cuDNN.
//
// Encoding: cuDNN 9 reports major·10000 + minor·100 + patch (9.14.0 → 91400); cuDNN 8 reported
// major·1000 + minor·100 + patch (8.9.7 → 8907).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace sb::cudnn {

struct version {
  int major = 0;
  int minor = 0;
  int patch = 0;
  friend constexpr bool operator==(const version&, const version&) = default;
};

[[nodiscard]] constexpr version decode_version(std::size_t v) {
  if (v >= 90000) return {static_cast<int>(v / 10000), static_cast<int>(v / 100 % 100), static_cast<int>(v % 100)};
  return {static_cast<int>(v / 1000), static_cast<int>(v / 100 % 10), static_cast<int>(v % 100)};
}

[[nodiscard]] inline std::string to_string(const version& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.patch);
}

/// The oldest library dense_cudnn accepts. Everything it uses (backend tensor, matmul, pointwise incl.
/// GEN_INDEX / CMP_GE / BINARY_SELECT, reduction, engine heuristics, execution plan, variant pack,
/// cudnnGetLastErrorString) exists in cuDNN 9.0, so any 9.x works, in particular the H200 machine's
/// 9.14; nothing newer than the running library is ever asked for.
inline constexpr version oldest_supported{9, 0, 0};

/// Why a loaded library of version `runtime` cannot be used, or nullopt: another major version has
/// another ABI (the enums this code was compiled with may not mean the same), and 9.0 is the floor.
[[nodiscard]] inline std::optional<std::string> runtime_unsupported_reason(const version& runtime) {
  if (runtime.major != 9)
    return "cuDNN " + to_string(runtime) + " is loaded; dense_cudnn needs cuDNN 9 (the backend API it was built for)";
  if (runtime.minor < oldest_supported.minor)
    return "cuDNN " + to_string(runtime) + " is older than " + to_string(oldest_supported);
  return std::nullopt;
}

}  // namespace sb::cudnn
