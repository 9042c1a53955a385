#include "harness/runner/progress.hpp"

#include <unistd.h>

#include <cmath>

#include <fmt/format.h>

namespace sb {

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

progress_display::progress_display(std::size_t total_cases, bool enabled)
    : m_total(total_cases), m_enabled(enabled), m_tty(isatty(STDERR_FILENO) != 0) {}

std::string progress_display::timing() const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  std::string s = "elapsed " + format_duration(elapsed);
  if (m_finished > 0 && m_index <= m_total) {
    const double per_case = elapsed / static_cast<double>(m_finished);
    s += ", ~" + format_duration(per_case * static_cast<double>(m_total - m_index)) + " left";
  }
  return s;
}

void progress_display::start_case(std::size_t index, const std::string& label) {
  m_index = index;
  m_label = label;
  if (m_enabled && m_tty)
    std::fprintf(stderr, "\r\033[K[%zu/%zu] %s ... (%s)", m_index, m_total, m_label.c_str(), timing().c_str());
}

void progress_display::tick(double case_elapsed_s) {
  if (m_enabled && m_tty)
    std::fprintf(stderr, "\r\033[K[%zu/%zu] %s ... running %s (%s)", m_index, m_total, m_label.c_str(),
                 format_duration(case_elapsed_s).c_str(), timing().c_str());
}

void progress_display::finish_case(const std::string& outcome) {
  ++m_finished;
  if (!m_enabled) return;
  std::fprintf(stderr, "%s[%zu/%zu] %s: %s (%s)\n", m_tty ? "\r\033[K" : "", m_index, m_total, m_label.c_str(),
               outcome.c_str(), timing().c_str());
}

}  // namespace sb
