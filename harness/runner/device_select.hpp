// Which device a case runs on: `--device auto|cpu|cuda`. auto = the GPU when this build has CUDA,
// a GPU is visible (CUDA_VISIBLE_DEVICES respected) and the variant has a CUDA implementation;
// otherwise the CPU.
#pragma once

#include <string>

#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb {

/// Number of visible CUDA devices; 0 in a build without CUDA or on a machine without a GPU.
[[nodiscard]] int cuda_device_count();
/// Throws sb::config_error when `requested` is not auto/cpu/cuda, or cuda is impossible here.
[[nodiscard]] device_kind resolve_device(const std::string& requested, const attention_variant& v);
/// Check a --device value up front (before anything runs).
void validate_device_request(const std::string& requested);
/// Human-readable name of the device a row ran on (CPU model or GPU name).
[[nodiscard]] std::string device_name(device_kind d);

}  // namespace sb
