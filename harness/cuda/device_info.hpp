// What the device path records about the GPU and the CUDA stack on every row (measurement.md §2,
// "environment"): name, compute capability, SM count, L2 size, runtime / driver / cuBLAS versions,
// the NVML driver string, and the SM clock through NVML.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <optional>
#include <string>

#include "harness/cuda/gpu_columns.hpp"

namespace sb::cuda {

/// Query `device` (an index among the visible devices). Throws cuda_error.
[[nodiscard]] gpu_environment query_environment(int device);

/// "0000:8a:00.0": how NVML finds the same GPU whatever CUDA_VISIBLE_DEVICES says. Throws cuda_error.
[[nodiscard]] std::string pci_bus_id(int device);

/// The current SM clock of `device` through NVML; empty without NVML.
[[nodiscard]] std::optional<unsigned> current_sm_clock_mhz(int device);
/// Its reference SM clock (default applications clock, else max); empty without NVML.
[[nodiscard]] std::optional<unsigned> reference_sm_clock_mhz(int device);

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
