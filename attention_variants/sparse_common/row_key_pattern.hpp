// A per-row key list planned on the host for the CUDA sparse kernels (sparse_attend_cuda.hpp): the
// keys of every query row as CSR, stored once per *pattern* rather than once per (batch, head) row.
// Window's rows are the same for every head (1 pattern), BigBird's differ per head but not per batch
// element (H patterns); a variant whose rows differ everywhere uses B·H patterns. Row (bh, i) of the
// problem reads pattern pattern_of(bh) at row pattern_of(bh)·T + i. Host-only: compiled in every build
// and tested on the CPU; the CUDA instance uploads row_ptr and cols once in instantiate().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "harness/core/errors.hpp"
#include "harness/core/variant.hpp"

namespace sb::sparse {

struct row_key_pattern {
  int t = 0;         ///< query rows per pattern (the sequence length)
  int patterns = 0;  ///< 1, H or B·H
  std::vector<std::int64_t> row_ptr;  ///< patterns·t + 1 offsets into cols
  std::vector<std::int32_t> cols;     ///< key ids, ascending within a row

  /// Build from a row source: row(pattern, i, buf) writes query i's sorted keys into buf (capacity
  /// max_row) and returns how many.
  template <typename Row>
  static row_key_pattern build(int t, int patterns, int max_row, Row&& row) {
    row_key_pattern out;
    out.t = t;
    out.patterns = patterns;
    out.row_ptr.reserve(static_cast<std::size_t>(patterns) * t + 1);
    out.row_ptr.push_back(0);
    std::vector<std::int32_t> buf(static_cast<std::size_t>(std::max(max_row, 1)));
    for (int g = 0; g < patterns; ++g)
      for (int i = 0; i < t; ++i) {
        const int n = row(g, i, buf.data());
        out.cols.insert(out.cols.end(), buf.begin(), buf.begin() + n);
        out.row_ptr.push_back(static_cast<std::int64_t>(out.cols.size()));
      }
    return out;
  }

  /// Which pattern serves (batch·H + head) row block bh of `p`. Throws sb::config_error when
  /// `patterns` is not 1, H or B·H, or t is not the problem's T.
  [[nodiscard]] int pattern_of(const problem& p, std::size_t bh) const;

  /// Keys of query i under pattern g.
  [[nodiscard]] std::span<const std::int32_t> row(int g, int i) const {
    const std::size_t r = static_cast<std::size_t>(g) * t + static_cast<std::size_t>(i);
    return {cols.data() + row_ptr[r], static_cast<std::size_t>(row_ptr[r + 1] - row_ptr[r])};
  }

  /// The problem's support (rows r = bh·T + i for every bh), each row copied from its pattern.
  void expand(const problem& p, attention_support& s) const;

  /// Bytes of row_ptr and cols (what the device copy holds).
  [[nodiscard]] std::size_t bytes() const {
    return row_ptr.size() * sizeof(std::int64_t) + cols.size() * sizeof(std::int32_t);
  }
};

}  // namespace sb::sparse
