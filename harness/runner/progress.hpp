// Sweep progress on stderr: on a terminal, a live status line (case i of N, the current case, elapsed
// time, estimated time left, and a ticking clock for long cases); otherwise one line per finished case.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace sb {

class progress_display {
 public:
  progress_display(std::size_t total_cases, bool enabled);
  /// A case starts: `label` describes it.
  void start_case(std::size_t index, const std::string& label);
  /// Still running after `case_elapsed_s` (called about once a second).
  void tick(double case_elapsed_s);
  /// The case finished with this one-word status and detail.
  void finish_case(const std::string& outcome);

 private:
  [[nodiscard]] std::string timing() const;
  std::size_t m_total;
  bool m_enabled;
  bool m_tty;
  std::size_t m_index = 0;
  std::size_t m_finished = 0;
  std::string m_label;
  std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

/// "1m05s", "12s", "1h02m".
[[nodiscard]] std::string format_duration(double seconds);

}  // namespace sb
