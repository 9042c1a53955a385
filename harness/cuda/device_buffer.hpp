// Owning, move-only device array of T from the case's device pool, ordered on a stream. Not zeroed.
// The device counterpart of sb::tracked_buffer: every device buffer a CUDA variant needs comes from
// here, so the pool's high-water mark is the case's peak.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstddef>
#include <utility>

#include <cuda_runtime_api.h>

#include "harness/cuda/cuda_context.hpp"

namespace sb::cuda {

template <typename T>
class device_buffer {
 public:
  device_buffer() = default;
  /// `count` elements from context::instance().pool() on `stream` (the context's stream by default).
  explicit device_buffer(std::size_t count) : device_buffer(count, context::instance().stream()) {}
  device_buffer(std::size_t count, cudaStream_t stream)
      : m_data(static_cast<T*>(context::instance().pool().allocate(count * sizeof(T), stream))),
        m_count(count),
        m_stream(stream) {}
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& o) noexcept
      : m_data(std::exchange(o.m_data, nullptr)), m_count(std::exchange(o.m_count, 0)), m_stream(o.m_stream) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    if (this != &o) {
      reset();
      m_data = std::exchange(o.m_data, nullptr);
      m_count = std::exchange(o.m_count, 0);
      m_stream = o.m_stream;
    }
    return *this;
  }
  ~device_buffer() { reset(); }

  /// Free (stream-ordered) now.
  void reset() noexcept {
    if (m_data) context::instance().pool().release(m_data, m_stream);
    m_data = nullptr;
    m_count = 0;
  }

  [[nodiscard]] T* data() noexcept { return m_data; }
  [[nodiscard]] const T* data() const noexcept { return m_data; }
  [[nodiscard]] std::size_t size() const noexcept { return m_count; }
  [[nodiscard]] std::size_t bytes() const noexcept { return m_count * sizeof(T); }
  [[nodiscard]] cudaStream_t stream() const noexcept { return m_stream; }

 private:
  T* m_data = nullptr;
  std::size_t m_count = 0;
  cudaStream_t m_stream = nullptr;
};

}  // namespace sb::cuda

#endif  // SEABENCH_HAVE_CUDA
