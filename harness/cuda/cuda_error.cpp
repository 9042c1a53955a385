#include "harness/cuda/cuda_error.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string_view>

#include <fmt/format.h>

#include "harness/core/errors.hpp"

namespace sb::cuda {
namespace {

std::string_view base_name(const char* file) {
  const std::string_view f(file);
  const auto slash = f.find_last_of('/');
  return slash == std::string_view::npos ? f : f.substr(slash + 1);
}

}  // namespace

bool is_sticky_error(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchFailure:
    case cudaErrorECCUncorrectable:
    case cudaErrorContextIsDestroyed:
      return true;
    default:
      return false;
  }
}

void throw_cuda_error(cudaError_t e, const char* expr, const char* file, int line) {
  // A non-sticky error is also recorded as the thread's last error: clear it so the next check
  // does not report it again. A sticky one cannot be cleared.
  const bool sticky = is_sticky_error(e);
  if (!sticky) cudaGetLastError();
  std::string what = fmt::format("CUDA error {} {} ({}) in `{}` at {}:{}", static_cast<int>(e), cudaGetErrorName(e),
                                 cudaGetErrorString(e), expr, base_name(file), line);
  if (sticky) what += " [sticky: the CUDA context is unusable; the worker process must exit]";
  throw cuda_error(what, static_cast<int>(e), sticky);
}

void throw_cublas_error(int status, const char* expr, const char* file, int line) {
  const auto s = static_cast<cublasStatus_t>(status);
  const std::string what =
      fmt::format("cuBLAS error {} ({}) in `{}` at {}:{}", status, cublasGetStatusString(s), expr, base_name(file), line);
  if (s == CUBLAS_STATUS_ALLOC_FAILED) throw out_of_memory(what, 0);
  // cuBLAS reports a failed kernel as EXECUTION_FAILED; whether the context is poisoned shows in
  // the runtime's error state.
  const cudaError_t runtime = cudaPeekAtLastError();
  throw cuda_error(what, status, is_sticky_error(runtime));
}

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
