#include "attention_variants/bigbird/bigbird_layout.hpp"

#include <algorithm>

#include "harness/core/rng.hpp"

namespace sb::bigbird {

bool falls_back(int t, int block, int random_blocks) {
  const int nb = (t + block - 1) / block;
  return nb <= 5 + 2 * random_blocks;
}

layout make_layout(int t, int heads, int block, int random_blocks, bool causal, std::uint64_t seed) {
  layout l;
  l.t = t;
  l.block = block;
  l.nb = (t + block - 1) / block;
  l.heads = heads;
  l.random_blocks = random_blocks;
  l.causal = causal;
  l.fallback = falls_back(t, block, random_blocks);
  const int nb = l.nb, r = random_blocks;
  l.ptr.assign(1, 0);
  l.random_ptr.assign(1, 0);
  counter_rng rng(seed, rng_stream::blocks);
  std::vector<std::int32_t> cand, row;
  for (int h = 0; h < heads; ++h) {
    for (int q = 0; q < nb; ++q) {
      row.clear();
      cand.clear();
      if (!l.all_keys(q)) {
        if (causal) {
          row = {0, q - 1, q};
          for (int c = 1; c <= q - 2; ++c) cand.push_back(c);
        } else {
          row = {0, nb - 1, q - 1, q, q + 1};
          for (int c = 1; c <= nb - 2; ++c)
            if (c < q - 1 || c > q + 1) cand.push_back(c);
        }
        const int n = static_cast<int>(cand.size());
        const int draws = std::min(r, n);
        rng.seek((static_cast<std::uint64_t>(h) * nb + q) * static_cast<std::uint64_t>(r));
        for (int d = 0; d < draws; ++d) {
          const int pick = d + static_cast<int>(rng.below(static_cast<std::uint64_t>(n - d)));
          std::swap(cand[d], cand[pick]);
        }
        cand.resize(draws);
        std::sort(cand.begin(), cand.end());
        row.insert(row.end(), cand.begin(), cand.end());
        std::sort(row.begin(), row.end());
        row.erase(std::unique(row.begin(), row.end()), row.end());
        row.erase(std::remove_if(row.begin(), row.end(), [nb](std::int32_t b) { return b < 0 || b >= nb; }),
                  row.end());
      } else {
        cand.clear();
      }
      l.blocks.insert(l.blocks.end(), row.begin(), row.end());
      l.ptr.push_back(static_cast<std::int64_t>(l.blocks.size()));
      l.random.insert(l.random.end(), cand.begin(), cand.end());
      l.random_ptr.push_back(static_cast<std::int64_t>(l.random.size()));
    }
  }
  return l;
}

int layout::row(int h, int i, std::int32_t* buf) const {
  const int q = i / block;
  const int end = causal ? i + 1 : t;  // one past the last visible key
  int n = 0;
  if (all_keys(q)) {
    for (int j = 0; j < end; ++j) buf[n++] = j;
    return n;
  }
  const std::size_t cell = static_cast<std::size_t>(h) * nb + q;
  for (std::int64_t e = ptr[cell]; e < ptr[cell + 1]; ++e) {
    const int lo = blocks[e] * block;
    const int hi = std::min(lo + block, end);
    for (int j = lo; j < hi; ++j) buf[n++] = j;
  }
  return n;
}

int layout::row_size(int h, int i) const {
  const int q = i / block;
  const int end = causal ? i + 1 : t;
  if (all_keys(q)) return end;
  const std::size_t cell = static_cast<std::size_t>(h) * nb + q;
  int n = 0;
  for (std::int64_t e = ptr[cell]; e < ptr[cell + 1]; ++e) {
    const int lo = blocks[e] * block;
    n += std::max(0, std::min(lo + block, end) - lo);
  }
  return n;
}

int layout::max_row() const {
  int m = 0;
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < t; ++i) m = std::max(m, row_size(h, i));
  return m;
}

double layout::pairs() const {
  double s = 0;
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < t; ++i) s += row_size(h, i);
  return s;
}

}  // namespace sb::bigbird
