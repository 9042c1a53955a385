// The stream-ordered device pool every device buffer of a case comes from (measurement.md §3):
// a dedicated cudaMemPool_t, allocations with cudaMallocFromPoolAsync on the case's stream, and the
// pool's high-water marks (cudaMemPoolAttrUsedMemHigh / ReservedMemHigh) reset per case, so a case's
// peak is the pool's used high-water above what was live at the reset (the inputs).
// A failed allocation throws sb::out_of_memory with the requested bytes; the error is cleared first.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstddef>

#include <cuda_runtime_api.h>

namespace sb::cuda {

class device_pool {
 public:
  /// A pool on `device` whose freed memory stays reserved (release threshold = max), so timed
  /// calls do not map and unmap memory. Throws cuda_error.
  explicit device_pool(int device);
  ~device_pool();
  device_pool(const device_pool&) = delete;
  device_pool& operator=(const device_pool&) = delete;

  /// `bytes` from the pool, ordered on `stream`. 0 bytes gives nullptr. Throws sb::out_of_memory
  /// ("device pool: cannot allocate N bytes (...)", requested N) when the device cannot supply them.
  [[nodiscard]] void* allocate(std::size_t bytes, cudaStream_t stream);
  /// Return `p` to the pool, ordered on `stream`. Never throws (errors surface at the next check).
  void release(void* p, cudaStream_t stream) noexcept;

  /// Start a new peak window: synchronise `stream`, remember the bytes in use and reserved now,
  /// and reset both high-water marks.
  void reset_peak(cudaStream_t stream);
  /// Synchronise `stream`; the used high-water mark since reset_peak() above the bytes in use then.
  [[nodiscard]] std::size_t peak_used_above_reset(cudaStream_t stream) const;
  /// The same for reserved (mapped) memory: what the pool had to take from the device.
  [[nodiscard]] std::size_t peak_reserved_above_reset(cudaStream_t stream) const;

  [[nodiscard]] std::size_t used_bytes() const;      ///< cudaMemPoolAttrUsedMemCurrent
  [[nodiscard]] std::size_t reserved_bytes() const;  ///< cudaMemPoolAttrReservedMemCurrent
  /// Bytes the pool could hand out now without growing (reserved − used) plus the device's free
  /// memory: what the next allocations can count on.
  [[nodiscard]] std::size_t available_bytes() const;
  /// Give unused reserved memory back to the device (cudaMemPoolTrimTo 0) after synchronising `stream`.
  void trim(cudaStream_t stream);

  [[nodiscard]] cudaMemPool_t handle() const { return m_pool; }

 private:
  [[nodiscard]] std::size_t attribute(cudaMemPoolAttr a) const;
  cudaMemPool_t m_pool = nullptr;
  std::size_t m_used_at_reset = 0;
  std::size_t m_reserved_at_reset = 0;
};

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
