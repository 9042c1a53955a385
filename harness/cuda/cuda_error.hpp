// Checked CUDA and cuBLAS calls. SB_CUDA_CHECK(expr) throws sb::cuda::cuda_error carrying the file,
// line, the expression and CUDA's own message; a *sticky* error (illegal address, launch failure...:
// the context is unusable until the process exits) is marked as such, and the case worker that
// hits one writes an `error` row and dies (the sweep's next case gets a fresh process).
// Allocation failures are not cuda_errors: the device pool turns them into sb::out_of_memory.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <stdexcept>
#include <string>

#include <cuda_runtime_api.h>

namespace sb::cuda {

struct cuda_error : std::runtime_error {
  cuda_error(const std::string& what, int code, bool sticky)
      : std::runtime_error(what), code(code), sticky(sticky) {}
  int code;     ///< cudaError_t, or the cublasStatus_t for cuBLAS failures
  bool sticky;  ///< the CUDA context is poisoned: nothing more can run in this process
};

/// The runtime errors CUDA documents as leaving the context unusable (an illegal address, a kernel
/// trap or assert, a launch failure or timeout, uncorrectable ECC...).
[[nodiscard]] bool is_sticky_error(cudaError_t e);

/// "CUDA error 700 cudaErrorIllegalAddress (an illegal memory access was encountered) in
/// `expr` at file.cpp:42" (+ " [sticky: ...]"). Clears the thread's last-error state of a
/// non-sticky error, so the next call does not report it again.
[[noreturn]] void throw_cuda_error(cudaError_t e, const char* expr, const char* file, int line);

/// The same for a cublasStatus_t (passed as int so this header does not need cuBLAS).
/// CUBLAS_STATUS_ALLOC_FAILED becomes sb::out_of_memory.
[[noreturn]] void throw_cublas_error(int status, const char* expr, const char* file, int line);

}  // namespace sb::cuda

#define SB_CUDA_CHECK(expr)                                                        \
  do {                                                                             \
    const cudaError_t sb_cuda_status_ = (expr);                                    \
    if (sb_cuda_status_ != cudaSuccess)                                            \
      ::sb::cuda::throw_cuda_error(sb_cuda_status_, #expr, __FILE__, __LINE__);    \
  } while (0)

/// After a kernel launch: a launch-configuration error, reported at the launch site.
#define SB_CUDA_CHECK_LAUNCH() SB_CUDA_CHECK(cudaGetLastError())

#define SB_CUBLAS_CHECK(expr)                                                      \
  do {                                                                             \
    const int sb_cublas_status_ = static_cast<int>(expr);                          \
    if (sb_cublas_status_ != 0)                                                    \
      ::sb::cuda::throw_cublas_error(sb_cublas_status_, #expr, __FILE__, __LINE__); \
  } while (0)

#endif  // SEABENCH_HAVE_CUDA
