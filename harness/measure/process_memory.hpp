// Process-level memory of the worker, the cross-check for the tracking allocator: resident set size
// and its high-water mark from /proc/self/status, and a reset of that mark (measurement.md §4).
#pragma once

#include <cstdint>
#include <optional>

namespace sb {

/// VmRSS in bytes, or nullopt where /proc is unavailable.
[[nodiscard]] std::optional<std::uint64_t> resident_bytes();
/// VmHWM (peak resident set) in bytes.
[[nodiscard]] std::optional<std::uint64_t> peak_resident_bytes();
/// Reset VmHWM to the current RSS (write "5" to /proc/self/clear_refs). False if not permitted.
bool reset_peak_resident();

}  // namespace sb
