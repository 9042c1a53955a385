// Reference-row sampling (see reference_rows.hpp).
#include "harness/metrics/reference_rows.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <unordered_set>

#include "harness/core/rng.hpp"

namespace sb {
namespace {

constexpr int deciles = 10;

/// Each (b, h) draws from its own slice of the stream, so the sample of one head does not depend
/// on how many draws another head needed. 2^32 draws per head is far more than any head uses.
constexpr int head_stream_shift = 32;

/// `count` distinct positions from [lo, lo + n), uniformly (Floyd's algorithm: exactly `count` draws).
void draw_distinct(counter_rng& rng, std::int64_t lo, std::int64_t n, std::int64_t count,
                   std::vector<std::int64_t>& out) {
  std::unordered_set<std::int64_t> chosen;
  chosen.reserve(static_cast<std::size_t>(count) * 2);
  for (std::int64_t j = n - count; j < n; ++j) {
    const auto t = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(j + 1)));
    if (!chosen.insert(t).second) chosen.insert(j);
  }
  // Sort the set's contents: unordered_set iteration order is not part of the contract.
  std::vector<std::int64_t> picked(chosen.begin(), chosen.end());
  std::sort(picked.begin(), picked.end());
  for (std::int64_t x : picked) out.push_back(lo + x);
}

/// Positions (within one head) of a sample of `count` rows out of T, with 2·edge < count < T.
std::vector<std::int64_t> sample_head(std::int64_t t, std::int64_t count, std::int64_t edge, counter_rng& rng) {
  std::vector<std::int64_t> pos;
  pos.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < edge; ++i) pos.push_back(i);
  for (std::int64_t i = t - edge; i < t; ++i) pos.push_back(i);

  // Interior [edge, T − edge) split at the decile boundaries floor(d·T/10) of the whole sequence.
  std::array<std::int64_t, deciles> lo{}, cap{}, quota{};
  for (int d = 0; d < deciles; ++d) {
    const std::int64_t a = std::max<std::int64_t>(d * t / deciles, edge);
    const std::int64_t b = std::min<std::int64_t>((d + 1) * t / deciles, t - edge);
    lo[d] = a;
    cap[d] = std::max<std::int64_t>(b - a, 0);
  }
  // Even split: decile d gets floor((d+1)·m/10) − floor(d·m/10), i.e. m/10 rounded either way.
  const std::int64_t m = count - 2 * edge;
  std::int64_t leftover = 0;
  for (int d = 0; d < deciles; ++d) {
    const std::int64_t want = (d + 1) * m / deciles - d * m / deciles;
    quota[d] = std::min(want, cap[d]);
    leftover += want - quota[d];
  }
  // Deciles clipped by the edges (or tiny T) hand their surplus to the others, one at a time.
  while (leftover > 0) {
    bool placed = false;
    for (int d = 0; d < deciles && leftover > 0; ++d) {
      if (quota[d] < cap[d]) {
        ++quota[d];
        --leftover;
        placed = true;
      }
    }
    if (!placed) break;  // unreachable while count ≤ T: the interior holds exactly T − 2·edge rows
  }
  for (int d = 0; d < deciles; ++d)
    if (quota[d] > 0) draw_distinct(rng, lo[d], cap[d], quota[d], pos);
  std::sort(pos.begin(), pos.end());
  return pos;
}

}  // namespace

std::vector<std::int64_t> choose_reference_rows(const problem& p, const measure_settings& settings) {
  if (settings.ref_rows_per_head < 0) throw std::invalid_argument("ref_rows_per_head must not be negative");
  const std::int64_t t = p.seq_len;
  const std::int64_t heads = static_cast<std::int64_t>(p.batch) * p.heads;
  std::vector<std::int64_t> rows;
  if (t <= 0 || heads <= 0) return rows;

  if (t <= settings.ref_full_max_seq_len || settings.ref_rows_per_head >= t) {
    rows.resize(static_cast<std::size_t>(heads * t));
    for (std::size_t r = 0; r < rows.size(); ++r) rows[r] = static_cast<std::int64_t>(r);
    return rows;
  }

  const std::int64_t count = settings.ref_rows_per_head;  // < T here
  rows.reserve(static_cast<std::size_t>(heads * count));
  for (std::int64_t bh = 0; bh < heads; ++bh) {
    std::vector<std::int64_t> pos;
    if (count <= 2 * reference_edge_rows) {
      // Too few rows for edges plus strata: split them between the two ends.
      const std::int64_t front = (count + 1) / 2;
      for (std::int64_t i = 0; i < front; ++i) pos.push_back(i);
      for (std::int64_t i = t - (count - front); i < t; ++i) pos.push_back(i);
    } else {
      counter_rng rng(p.seed, rng_stream::metrics_rows);
      rng.seek(static_cast<std::uint64_t>(bh) << head_stream_shift);
      pos = sample_head(t, count, reference_edge_rows, rng);
    }
    for (std::int64_t i : pos) rows.push_back(bh * t + i);
  }
  return rows;
}

}  // namespace sb
