// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011). Every random part of a case
// (inputs, features, hashes, random blocks) is a pure function of (seed, stream, index), so a CUDA
// implementation can draw exactly the same numbers on the device.
#pragma once

#include <array>
#include <cstdint>

namespace sb {

using philox_block = std::array<std::uint32_t, 4>;

/// One Philox4x32-10 evaluation: 4 random words for counter `ctr` under key `key`.
[[nodiscard]] constexpr philox_block philox4x32(philox_block ctr, std::array<std::uint32_t, 2> key) {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(m0) * ctr[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(m1) * ctr[2];
    ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    key[0] += w0;
    key[1] += w1;
  }
  return ctr;
}

/// Well-known stream ids, so that different random parts of one case never share numbers.
namespace rng_stream {
inline constexpr std::uint64_t dataset_q = 1, dataset_k = 2, dataset_v = 3, dataset_aux = 4;
inline constexpr std::uint64_t features = 16, hashes = 17, blocks = 18, weights = 19;
inline constexpr std::uint64_t metrics_rows = 32;
}  // namespace rng_stream

/// A sequential view of the counter space for (seed, stream): draw i uses counter block i/4.
class counter_rng {
 public:
  counter_rng(std::uint64_t seed, std::uint64_t stream) : m_seed(seed), m_stream(stream) {}

  /// Draw at an absolute position (stateless; what a GPU thread would call).
  [[nodiscard]] std::uint32_t at(std::uint64_t index) const {
    const philox_block b = philox4x32(
        {static_cast<std::uint32_t>(index >> 2), static_cast<std::uint32_t>(index >> 34),
         static_cast<std::uint32_t>(m_stream), static_cast<std::uint32_t>(m_stream >> 32)},
        {static_cast<std::uint32_t>(m_seed), static_cast<std::uint32_t>(m_seed >> 32)});
    return b[index & 3];
  }
  std::uint32_t next_u32() { return at(m_index++); }
  /// Uniform in (0, 1): never exactly 0, so log() is safe.
  double uniform() { return (static_cast<double>(next_u32()) + 0.5) * (1.0 / 4294967296.0); }
  /// Standard normal by Box-Muller (uses two draws).
  double normal();
  /// Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return static_cast<std::uint64_t>(uniform() * static_cast<double>(n)) % n; }
  void seek(std::uint64_t index) { m_index = index; }

 private:
  std::uint64_t m_seed;
  std::uint64_t m_stream;
  std::uint64_t m_index = 0;
};

}  // namespace sb
