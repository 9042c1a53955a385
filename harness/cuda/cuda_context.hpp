// The process's CUDA state for the device path: device 0 of the visible ones (CUDA_VISIBLE_DEVICES
// is respected by the runtime), one non-blocking stream every case's work is ordered on, the
// stream-ordered device pool, a cuBLAS handle bound to the stream, and the TF32 switch.
// Created on first use and deliberately never destroyed (no CUDA calls during static destruction);
// each sweep case runs in its own worker process, so "process" means "case".
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <memory>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "harness/cuda/device_pool.hpp"
#include "harness/cuda/gpu_columns.hpp"

namespace sb::cuda {

class context {
 public:
  /// Throws cuda_error when no device can be used.
  static context& instance();

  [[nodiscard]] int device() const { return m_device; }
  [[nodiscard]] cudaStream_t stream() const { return m_stream; }
  [[nodiscard]] device_pool& pool() { return *m_pool; }
  /// Created on first use, bound to stream(). Callers that give it a workspace do so per call
  /// (cublasSetWorkspace), since cublasSetStream resets it.
  [[nodiscard]] cublasHandle_t cublas();
  /// fp32 GEMMs may use TF32 tensor cores only when this is on (the config's allow_tf32; off by default).
  [[nodiscard]] bool allow_tf32() const { return m_allow_tf32; }
  void set_allow_tf32(bool on) { m_allow_tf32 = on; }
  /// Device, runtime, driver and library facts (queried once; NVML's driver string when loadable).
  [[nodiscard]] const gpu_environment& environment() const { return m_env; }

 private:
  context();
  int m_device = 0;
  cudaStream_t m_stream = nullptr;
  std::unique_ptr<device_pool> m_pool;
  cublasHandle_t m_cublas = nullptr;
  bool m_allow_tf32 = false;
  gpu_environment m_env;
};

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
