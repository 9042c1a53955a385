#include "attention_variants/sea/flat_csr.hpp"

#include <algorithm>
#include <vector>

#include "attention_variants/sea/bins.hpp"

namespace sb::sea {
namespace {
std::size_t sz(long long x) { return static_cast<std::size_t>(x); }
}  // namespace

flat_csr upsample(const problem& p, const config& c, const selection& sel) {
  const int T = p.seq_len, H = p.heads, K = c.K;
  flat_csr csr;
  csr.batch = p.batch;
  csr.heads = H;
  csr.seq_len = T;
  const std::size_t rows = csr.rows();
  csr.row_ptr = tracked_buffer<std::int64_t>(rows + 1);
  csr.hoff = tracked_buffer<std::int32_t>(rows * (H + 1));
  tracked_buffer<int> bounds(sz(K) + 1);
  // Pass 1: per-head key counts → hoff (relative prefix sums) and row_ptr.
  csr.row_ptr[0] = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const int t = static_cast<int>(r % T);
    row_bounds(c.upsample, visible_keys(p.causal, T, t), K, bounds.data());
    std::int32_t* ho = csr.hoff.data() + r * (H + 1);
    std::fill_n(ho, H + 1, 0);
    for (std::int64_t i = sel.row_ptr[r]; i < sel.row_ptr[r + 1]; ++i) {
      const int h = sel.cells[sz(i)] / K, bin = sel.cells[sz(i)] % K;
      ho[h + 1] += cell_keep(c.upsample, bounds[bin + 1] - bounds[bin], c.k, c.k_oversample);
    }
    for (int h = 0; h < H; ++h) ho[h + 1] += ho[h];
    csr.row_ptr[r + 1] = csr.row_ptr[r] + ho[H];
  }
  // Pass 2: keys, in (head, bin, key) order.
  csr.col = tracked_buffer<std::int32_t>(sz(csr.row_ptr[rows]));
  for (std::size_t r = 0; r < rows; ++r) {
    const int t = static_cast<int>(r % T);
    row_bounds(c.upsample, visible_keys(p.causal, T, t), K, bounds.data());
    std::int32_t* out = csr.col.data() + csr.row_ptr[r];
    for (std::int64_t i = sel.row_ptr[r]; i < sel.row_ptr[r + 1]; ++i) {
      const int bin = sel.cells[sz(i)] % K;
      const int lo = bounds[bin], hi = bounds[bin + 1];
      out += emit_cell_keys(lo, hi, cell_keep(c.upsample, hi - lo, c.k, c.k_oversample), out);
    }
  }
  return csr;
}

void to_attention_support(const flat_csr& csr, attention_support& out) {
  const int T = csr.seq_len, H = csr.heads;
  out.row_ptr.assign(1, 0);
  out.row_ptr.reserve(csr.rows() * H + 1);
  out.cols.clear();
  out.cols.reserve(sz(csr.nnz()));
  for (int b = 0; b < csr.batch; ++b)
    for (int h = 0; h < H; ++h)
      for (int t = 0; t < T; ++t) {
        const auto keys = csr.segment(sz(b) * T + t, h);
        out.cols.insert(out.cols.end(), keys.begin(), keys.end());
        out.row_ptr.push_back(static_cast<std::int64_t>(out.cols.size()));
      }
}

namespace {
/// Mean kept keys over the non-empty bins of a row of L keys.
double mean_keep(const config& c, int L, std::vector<int>& bounds) {
  const int nb = std::min(L, c.K);
  const bool all_kept = c.k_oversample <= 1.0 &&
                        (c.upsample == upsample_mode::nearest || (L + c.K - 1) / c.K <= c.k);
  if (all_kept) return static_cast<double>(L) / nb;
  row_bounds(c.upsample, L, c.K, bounds.data());
  double sum = 0;
  for (int b = 0; b < c.K; ++b) sum += cell_keep(c.upsample, bounds[sz(b) + 1] - bounds[sz(b)], c.k, c.k_oversample);
  return sum / nb;
}
}  // namespace

double expected_nnz(const problem& p, const config& c) {
  std::vector<int> bounds(sz(c.K) + 1);
  if (c.topk == topk_mode::batch)
    return static_cast<double>(selected_cells(p, c)) * mean_keep(c, p.seq_len, bounds);
  double total = 0;
  for (int t = 0; t < p.seq_len; ++t) {
    const int L = visible_keys(p.causal, p.seq_len, t);
    const int nb = std::min(L, c.K);
    const double cells = c.topk == topk_mode::query
                             ? static_cast<double>(p.heads) * query_budget(c.k, c.k_oversample, c.K, L, nb)
                             : static_cast<double>(grouped_budget(p.heads, c.k, c.k_oversample, c.K, L,
                                                                  static_cast<std::int64_t>(p.heads) * nb));
    total += cells * mean_keep(c, L, bounds);
    if (!p.causal) {  // every row is the same
      total *= p.seq_len;
      break;
    }
  }
  return total * p.batch;
}

std::size_t flat_csr_bytes(const problem& p, double nnz) {
  const std::size_t rows = sz(p.batch) * p.seq_len;
  return (rows + 1) * sizeof(std::int64_t) + rows * (sz(p.heads) + 1) * sizeof(std::int32_t) +
         static_cast<std::size_t>(nnz) * sizeof(std::int32_t);
}

}  // namespace sb::sea
