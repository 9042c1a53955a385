#include "attention_variants/sparse_common/row_key_pattern.hpp"

#include <fmt/format.h>

#include "attention_variants/sparse_common/sparse_attend.hpp"

namespace sb::sparse {

int row_key_pattern::pattern_of(const problem& p, std::size_t bh) const {
  if (t != p.seq_len)
    throw config_error(fmt::format("row_key_pattern: planned for T={}, the problem has T={}", t, p.seq_len));
  const std::size_t bh_count = static_cast<std::size_t>(p.batch) * p.heads;
  if (patterns == 1) return 0;
  if (static_cast<std::size_t>(patterns) == bh_count) return static_cast<int>(bh);
  if (patterns == p.heads) return static_cast<int>(bh % static_cast<std::size_t>(p.heads));
  throw config_error(fmt::format("row_key_pattern: {} patterns fit neither 1, H={} nor B*H={}", patterns, p.heads,
                                 bh_count));
}

void row_key_pattern::expand(const problem& p, attention_support& s) const {
  const std::size_t bh_count = static_cast<std::size_t>(p.batch) * p.heads;
  clear_support(s);
  s.row_ptr.reserve(bh_count * t + 1);
  for (std::size_t bh = 0; bh < bh_count; ++bh) {
    const int g = pattern_of(p, bh);
    for (int i = 0; i < t; ++i) append_support_row(s, row(g, i));
  }
}

}  // namespace sb::sparse
