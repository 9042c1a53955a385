// cuDNN opened at run time (dlopen of libcudnn.so.9), like NVML (harness/cuda/nvml.cpp): the binaries
// start, and every other variant runs, on machines without cuDNN; only dense_cudnn's cases need it and
// they become `unsupported` with the loader's reason when it is missing. The library in use is the one
// the loader finds (the GPU machine's system-wide 9.14; /usr/local/cuda/lib on the development
// machines), and its version is checked against cudnn_version.hpp's rule before any other call.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstddef>
#include <string>

#include <cudnn_graph.h>

#include "attention_variants/dense_cudnn/cudnn_version.hpp"

namespace sb::cudnn {

/// The entry points dense_cudnn calls, resolved from the loaded library.
struct api {
  decltype(&::cudnnGetVersion) get_version = nullptr;
  decltype(&::cudnnGetErrorString) error_string = nullptr;
  decltype(&::cudnnGetLastErrorString) last_error_string = nullptr;
  decltype(&::cudnnCreate) create = nullptr;
  decltype(&::cudnnDestroy) destroy = nullptr;
  decltype(&::cudnnSetStream) set_stream = nullptr;
  decltype(&::cudnnBackendCreateDescriptor) create_descriptor = nullptr;
  decltype(&::cudnnBackendDestroyDescriptor) destroy_descriptor = nullptr;
  decltype(&::cudnnBackendSetAttribute) set_attribute = nullptr;
  decltype(&::cudnnBackendGetAttribute) get_attribute = nullptr;
  decltype(&::cudnnBackendFinalize) finalize = nullptr;
  decltype(&::cudnnBackendExecute) execute = nullptr;
  version loaded;  ///< cudnnGetVersion() of the library in use
};

/// The loaded library (opened once per process). Throws sb::unsupported_case when it cannot be
/// opened, lacks an entry point, or fails runtime_unsupported_reason.
[[nodiscard]] const api& library();

/// "CUDNN_STATUS_...: <cuDNN's last error message>" for a failed call.
[[nodiscard]] std::string describe(cudnnStatus_t status);

}  // namespace sb::cudnn

#endif  // SEABENCH_HAVE_CUDA
