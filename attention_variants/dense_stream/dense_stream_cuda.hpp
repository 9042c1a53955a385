// dense_stream on CUDA (dense_stream_cuda.cpp): the instance dense_stream_variant::instantiate
// returns for device_kind::cuda.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <memory>

#include "harness/core/variant.hpp"

namespace sb::dense_stream_cuda {

/// run() takes device pointers to Q, K, V and O in the case dtype (passed as float* by the
/// contract) and enqueues one kernel on the CUDA context's stream. No device memory beyond O.
/// Throws sb::unsupported_case for head_dim above 256.
[[nodiscard]] std::unique_ptr<attention_instance> make_instance(const problem& p);

}  // namespace sb::dense_stream_cuda

#endif  // SEABENCH_HAVE_CUDA
