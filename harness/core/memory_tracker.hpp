// Host memory accounting: every variant buffer comes from here, so the harness can read a case's
// peak bytes (high-water mark above what was live at reset) without knowing the variant.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <span>
#include <utility>

namespace sb {

class memory_tracker {
 public:
  /// Process-wide instance; each case runs in its own worker process, so "global" means "this case".
  static memory_tracker& instance();

  void* allocate(std::size_t bytes);
  void release(void* p, std::size_t bytes) noexcept;

  /// Start a new peak window: peak := current.
  void reset_peak() noexcept { m_peak.store(m_current.load()); }
  [[nodiscard]] std::size_t current_bytes() const noexcept { return m_current.load(); }
  [[nodiscard]] std::size_t peak_bytes() const noexcept { return m_peak.load(); }
  /// 0 = unlimited. Allocations that would push current above the limit throw sb::out_of_memory.
  void set_limit(std::size_t bytes) noexcept { m_limit = bytes; }

 private:
  std::atomic<std::size_t> m_current{0};
  std::atomic<std::size_t> m_peak{0};
  std::size_t m_limit = 0;
};

/// Owning, move-only array of T allocated through the memory tracker. Not zeroed.
template <typename T>
class tracked_buffer {
 public:
  tracked_buffer() = default;
  explicit tracked_buffer(std::size_t count)
      : m_data(count ? static_cast<T*>(memory_tracker::instance().allocate(count * sizeof(T))) : nullptr),
        m_count(count) {}
  tracked_buffer(const tracked_buffer&) = delete;
  tracked_buffer& operator=(const tracked_buffer&) = delete;
  tracked_buffer(tracked_buffer&& o) noexcept
      : m_data(std::exchange(o.m_data, nullptr)), m_count(std::exchange(o.m_count, 0)) {}
  tracked_buffer& operator=(tracked_buffer&& o) noexcept {
    if (this != &o) {
      reset();
      m_data = std::exchange(o.m_data, nullptr);
      m_count = std::exchange(o.m_count, 0);
    }
    return *this;
  }
  ~tracked_buffer() { reset(); }

  void reset() noexcept {
    if (m_data) memory_tracker::instance().release(m_data, m_count * sizeof(T));
    m_data = nullptr;
    m_count = 0;
  }
  void fill(const T& value) {
    for (std::size_t i = 0; i < m_count; ++i) m_data[i] = value;
  }

  [[nodiscard]] T* data() noexcept { return m_data; }
  [[nodiscard]] const T* data() const noexcept { return m_data; }
  [[nodiscard]] std::size_t size() const noexcept { return m_count; }
  [[nodiscard]] std::size_t bytes() const noexcept { return m_count * sizeof(T); }
  T& operator[](std::size_t i) noexcept { return m_data[i]; }
  const T& operator[](std::size_t i) const noexcept { return m_data[i]; }
  [[nodiscard]] std::span<T> span() noexcept { return {m_data, m_count}; }
  [[nodiscard]] std::span<const T> span() const noexcept { return {m_data, m_count}; }

 private:
  T* m_data = nullptr;
  std::size_t m_count = 0;
};

}  // namespace sb
