// dense on CUDA (dense_cuda.cpp): the instance dense_variant::instantiate returns for device_kind::cuda.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <memory>

#include "harness/core/variant.hpp"

namespace sb::dense_cuda {

/// run() takes device pointers to Q, K, V and O in the case dtype (fp32, fp16 or bf16, passed as
/// float* by the contract) and enqueues on the CUDA context's stream without synchronising.
[[nodiscard]] std::unique_ptr<attention_instance> make_instance(const problem& p);

}  // namespace sb::dense_cuda

#endif  // SEABENCH_HAVE_CUDA
