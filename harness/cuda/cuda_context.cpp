#include "harness/cuda/cuda_context.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <cuda_runtime.h>

#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_info.hpp"

namespace sb::cuda {

context::context() {
  SB_CUDA_CHECK(cudaSetDevice(m_device));
  SB_CUDA_CHECK(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking));
  m_pool = std::make_unique<device_pool>(m_device);
  m_env = query_environment(m_device);
}

context& context::instance() {
  // Leaked on purpose: destroying streams and pools during static destruction races the runtime's
  // own teardown. The process exit releases everything.
  static context* c = new context();
  return *c;
}

cublasHandle_t context::cublas() {
  if (!m_cublas) {
    SB_CUBLAS_CHECK(cublasCreate(&m_cublas));
    SB_CUBLAS_CHECK(cublasSetStream(m_cublas, m_stream));
  }
  return m_cublas;
}

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
