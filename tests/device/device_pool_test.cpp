// The stream-ordered device pool: high-water accounting above what was live at the reset, RAII
// release, and a too-large allocation reported as out_of_memory (with the requested bytes) that
// leaves the device usable.
#include "tests/device/gpu_test_support.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include "harness/core/errors.hpp"
#include "harness/cuda/device_pool.hpp"
#endif

using namespace sb;

#ifdef SEABENCH_HAVE_CUDA
namespace {
constexpr std::size_t MiB = std::size_t{1} << 20;
}
#endif

TEST_CASE("the pool's peak is the high-water mark above what was live at the reset", "[gpu][pool]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  auto& cx = cuda::context::instance();
  auto& pool = cx.pool();
  const cudaStream_t s = cx.stream();
  const std::size_t used0 = pool.used_bytes();
  {
    cuda::device_buffer<std::byte> live(32 * MiB, s);  // like the inputs: live before the window
    pool.reset_peak(s);
    {
      cuda::device_buffer<std::byte> a(64 * MiB, s);
    }
    cuda::device_buffer<std::byte> b(16 * MiB, s);
    const std::size_t peak = pool.peak_used_above_reset(s);
    CHECK(peak >= 64 * MiB);
    CHECK(peak <= 66 * MiB);  // not the 32 MiB live before, nor a + b
    CHECK(pool.used_bytes() >= used0 + 48 * MiB);

    pool.reset_peak(s);  // a new window starts from what is live now (live + b)
    cuda::device_buffer<std::byte> c(8 * MiB, s);
    const std::size_t peak2 = pool.peak_used_above_reset(s);
    CHECK(peak2 >= 8 * MiB);
    CHECK(peak2 <= 10 * MiB);
  }
  SB_CUDA_CHECK(cudaStreamSynchronize(s));
  CHECK(pool.used_bytes() == used0);  // every device_buffer gave its memory back
#endif
}

TEST_CASE("an allocation beyond free memory is out_of_memory and the device stays usable", "[gpu][pool]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  auto& cx = cuda::context::instance();
  auto& pool = cx.pool();
  const cudaStream_t s = cx.stream();
  pool.trim(s);
  const std::size_t too_much = pool.available_bytes() + 1024 * MiB;
  try {
    cuda::device_buffer<std::byte> huge(too_much, s);
    FAIL("an allocation of " << too_much << " bytes succeeded");
  } catch (const out_of_memory& e) {
    CHECK(e.requested_bytes == too_much);
    CHECK_THAT(e.what(), Catch::Matchers::Contains(std::to_string(too_much)));
  }
  CHECK(cudaGetLastError() == cudaSuccess);  // cleared, not sticky
  cuda::device_buffer<float> small(1024, s);
  SB_CUDA_CHECK(cudaMemsetAsync(small.data(), 0, small.bytes(), s));
  SB_CUDA_CHECK(cudaStreamSynchronize(s));
#endif
}

TEST_CASE("a failed CUDA call throws cuda_error with the place and leaves the context usable", "[gpu][cuda_error]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  auto& cx = cuda::context::instance();
  int count = 0;
  SB_CUDA_CHECK(cudaGetDeviceCount(&count));
  try {
    SB_CUDA_CHECK(cudaSetDevice(count + 7));
    FAIL("cudaSetDevice of a missing device succeeded");
  } catch (const cuda::cuda_error& e) {
    CHECK(e.code == static_cast<int>(cudaErrorInvalidDevice));
    CHECK_FALSE(e.sticky);
    CHECK_THAT(e.what(), Catch::Matchers::Contains("cudaErrorInvalidDevice"));
    CHECK_THAT(e.what(), Catch::Matchers::Contains("device_pool_test.cpp:"));
  }
  CHECK(cudaGetLastError() == cudaSuccess);
  SB_CUDA_CHECK(cudaSetDevice(cx.device()));
  cuda::device_buffer<int> x(16, cx.stream());
  SB_CUDA_CHECK(cudaMemsetAsync(x.data(), 0, x.bytes(), cx.stream()));
  SB_CUDA_CHECK(cudaStreamSynchronize(cx.stream()));
#endif
}
