// Helpers for the dataset tests: a scratch directory, raw file writes, and exact (fp64) softmax rows
// for measuring where attention mass goes.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "harness/core/dataset.hpp"

namespace sb::test {

/// A fresh directory under the system temp dir, removed with its contents on destruction.
class scratch_dir {
 public:
  scratch_dir() {
    static std::atomic<int> counter{0};
    m_path = std::filesystem::temp_directory_path() /
             ("seabench_datasets_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(m_path);
    std::filesystem::create_directories(m_path);
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

inline void write_bytes(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline const dataset_source& dataset(std::string_view name) {
  const dataset_source* d = dataset_registry::instance().find(name);
  if (!d) throw std::logic_error("dataset not registered: " + std::string(name));
  return *d;
}

/// Exact softmax(q_i·K^T/sqrt(d)) of query i of one head ([T, d] row-major q and k), over keys
/// 0..i when causal, else all T keys. fp64 throughout.
inline std::vector<double> attention_row(const float* q, const float* k, int t, int d, int i, bool causal) {
  const int visible = causal ? i + 1 : t;
  std::vector<double> w(static_cast<std::size_t>(visible));
  const double tau = 1.0 / std::sqrt(static_cast<double>(d));
  double mx = -INFINITY;
  for (int j = 0; j < visible; ++j) {
    double s = 0;
    for (int c = 0; c < d; ++c)
      s += static_cast<double>(q[static_cast<std::size_t>(i) * d + c]) * k[static_cast<std::size_t>(j) * d + c];
    w[j] = s * tau;
    mx = std::max(mx, w[j]);
  }
  double sum = 0;
  for (auto& x : w) sum += (x = std::exp(x - mx));
  for (auto& x : w) x /= sum;
  return w;
}

/// Mass of the exact top-k keys of a softmax row.
inline double top_k_mass(std::vector<double> w, int k) {
  const auto n = std::min<std::size_t>(static_cast<std::size_t>(k), w.size());
  std::nth_element(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(n) - 1, w.end(), std::greater<>());
  double s = 0;
  for (std::size_t j = 0; j < n; ++j) s += w[j];
  return s;
}

/// Mass on keys [lo, hi] (clamped to the row).
inline double range_mass(const std::vector<double>& w, int lo, int hi) {
  double s = 0;
  for (int j = std::max(0, lo); j <= std::min<int>(hi, static_cast<int>(w.size()) - 1); ++j) s += w[j];
  return s;
}

}  // namespace sb::test
