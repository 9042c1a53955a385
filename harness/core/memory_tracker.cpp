// Tracking allocator: atomic current/peak counters around aligned_alloc.
#include "harness/core/memory_tracker.hpp"

#include <fmt/format.h>

#include "harness/core/errors.hpp"

namespace sb {

memory_tracker& memory_tracker::instance() {
  static memory_tracker tracker;
  return tracker;
}

void* memory_tracker::allocate(std::size_t bytes) {
  constexpr std::size_t alignment = 64;
  const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  if (m_limit != 0 && m_current.load() + rounded > m_limit)
    throw out_of_memory(fmt::format("allocation of {} bytes exceeds the memory limit of {} bytes "
                                    "({} bytes already in use)",
                                    bytes, m_limit, m_current.load()),
                        bytes);
  void* p = std::aligned_alloc(alignment, rounded);
  if (!p) throw out_of_memory(fmt::format("host allocation of {} bytes failed", bytes), bytes);
  const std::size_t now = m_current.fetch_add(bytes) + bytes;
  std::size_t peak = m_peak.load();
  while (now > peak && !m_peak.compare_exchange_weak(peak, now)) {
  }
  return p;
}

void memory_tracker::release(void* p, std::size_t bytes) noexcept {
  std::free(p);
  m_current.fetch_sub(bytes);
}

}  // namespace sb
