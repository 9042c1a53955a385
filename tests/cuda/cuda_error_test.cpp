// Error reporting of checked CUDA / cuBLAS calls. These run without a GPU: they only format and
// classify error codes (the runtime's error-name tables need no device).
#include <catch2/catch.hpp>

#ifdef SEABENCH_HAVE_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_error.hpp"

using namespace sb;
using namespace sb::cuda;
using Catch::Matchers::Contains;

TEST_CASE("sticky CUDA errors are recognised", "[cuda][cuda_error]") {
  CHECK(is_sticky_error(cudaErrorIllegalAddress));
  CHECK(is_sticky_error(cudaErrorLaunchFailure));
  CHECK(is_sticky_error(cudaErrorMisalignedAddress));
  CHECK(is_sticky_error(cudaErrorAssert));
  CHECK_FALSE(is_sticky_error(cudaErrorInvalidValue));
  CHECK_FALSE(is_sticky_error(cudaErrorMemoryAllocation));
  CHECK_FALSE(is_sticky_error(cudaErrorNoDevice));
}

TEST_CASE("a failed check names the call, the place and CUDA's message", "[cuda][cuda_error]") {
  const int line = __LINE__ + 2;
  try {
    SB_CUDA_CHECK(cudaErrorInvalidValue);
    FAIL("SB_CUDA_CHECK did not throw");
  } catch (const cuda_error& e) {
    CHECK(e.code == static_cast<int>(cudaErrorInvalidValue));
    CHECK_FALSE(e.sticky);
    CHECK_THAT(e.what(), Contains("cudaErrorInvalidValue"));
    CHECK_THAT(e.what(), Contains(cudaGetErrorString(cudaErrorInvalidValue)));
    CHECK_THAT(e.what(), Contains("cuda_error_test.cpp:" + std::to_string(line)));
    CHECK_THAT(e.what(), Contains("`cudaErrorInvalidValue`"));
  }
  try {
    SB_CUDA_CHECK(cudaErrorIllegalAddress);
    FAIL("SB_CUDA_CHECK did not throw");
  } catch (const cuda_error& e) {
    CHECK(e.sticky);
    CHECK_THAT(e.what(), Contains("sticky"));
  }
  CHECK_NOTHROW([] { SB_CUDA_CHECK(cudaSuccess); }());
}

TEST_CASE("cuBLAS failures: allocation becomes out_of_memory, the rest cuda_error", "[cuda][cuda_error]") {
  CHECK_THROWS_AS([] { SB_CUBLAS_CHECK(CUBLAS_STATUS_ALLOC_FAILED); }(), out_of_memory);
  try {
    SB_CUBLAS_CHECK(CUBLAS_STATUS_INVALID_VALUE);
    FAIL("SB_CUBLAS_CHECK did not throw");
  } catch (const cuda_error& e) {
    CHECK(e.code == static_cast<int>(CUBLAS_STATUS_INVALID_VALUE));
    CHECK_THAT(e.what(), Contains("cuBLAS error"));
  }
  CHECK_NOTHROW([] { SB_CUBLAS_CHECK(CUBLAS_STATUS_SUCCESS); }());
}
#endif  // SEABENCH_HAVE_CUDA
