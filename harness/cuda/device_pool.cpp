#include "harness/cuda/device_pool.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <cuda_runtime.h>

#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_error.hpp"

namespace sb::cuda {

device_pool::device_pool(int device) {
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device;
  SB_CUDA_CHECK(cudaMemPoolCreate(&m_pool, &props));
  std::uint64_t keep = std::numeric_limits<std::uint64_t>::max();
  SB_CUDA_CHECK(cudaMemPoolSetAttribute(m_pool, cudaMemPoolAttrReleaseThreshold, &keep));
}

device_pool::~device_pool() {
  if (m_pool) cudaMemPoolDestroy(m_pool);
}

void* device_pool::allocate(std::size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t e = cudaMallocFromPoolAsync(&p, bytes, m_pool, stream);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it so the case can unwind and report
    std::size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) cudaGetLastError();
    throw out_of_memory(fmt::format("device pool: cannot allocate {} bytes ({} in use by the case's pool, {} free of "
                                    "{} on the device)",
                                    bytes, used_bytes(), free, total),
                        bytes);
  }
  SB_CUDA_CHECK(e);
  return p;
}

void device_pool::release(void* p, cudaStream_t stream) noexcept {
  if (p) cudaFreeAsync(p, stream);
}

std::size_t device_pool::attribute(cudaMemPoolAttr a) const {
  std::uint64_t v = 0;
  SB_CUDA_CHECK(cudaMemPoolGetAttribute(m_pool, a, &v));
  return static_cast<std::size_t>(v);
}

std::size_t device_pool::used_bytes() const { return attribute(cudaMemPoolAttrUsedMemCurrent); }
std::size_t device_pool::reserved_bytes() const { return attribute(cudaMemPoolAttrReservedMemCurrent); }

std::size_t device_pool::available_bytes() const {
  std::size_t free = 0, total = 0;
  SB_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  const std::size_t used = used_bytes(), reserved = reserved_bytes();
  return free + (reserved > used ? reserved - used : 0);
}

void device_pool::reset_peak(cudaStream_t stream) {
  SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  m_used_at_reset = used_bytes();
  m_reserved_at_reset = reserved_bytes();
  // The high-water marks can only be set to zero; they then track the maximum from here on.
  std::uint64_t zero = 0;
  SB_CUDA_CHECK(cudaMemPoolSetAttribute(m_pool, cudaMemPoolAttrUsedMemHigh, &zero));
  SB_CUDA_CHECK(cudaMemPoolSetAttribute(m_pool, cudaMemPoolAttrReservedMemHigh, &zero));
}

std::size_t device_pool::peak_used_above_reset(cudaStream_t stream) const {
  SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  const std::size_t high = attribute(cudaMemPoolAttrUsedMemHigh);
  return high > m_used_at_reset ? high - m_used_at_reset : 0;
}

std::size_t device_pool::peak_reserved_above_reset(cudaStream_t stream) const {
  SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  const std::size_t high = attribute(cudaMemPoolAttrReservedMemHigh);
  return high > m_reserved_at_reset ? high - m_reserved_at_reset : 0;
}

void device_pool::trim(cudaStream_t stream) {
  SB_CUDA_CHECK(cudaStreamSynchronize(stream));
  SB_CUDA_CHECK(cudaMemPoolTrimTo(m_pool, 0));
}

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
