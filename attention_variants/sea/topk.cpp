#include "attention_variants/sea/topk.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "attention_variants/sea/bins.hpp"

namespace sb::sea {
namespace {

std::size_t sz(long long x) { return static_cast<std::size_t>(x); }

/// A cell's value with NaN mapped to −∞, so that the order below is a strict weak order.
float cell_value(float v) { return std::isnan(v) ? -std::numeric_limits<float>::infinity() : v; }

struct candidate {
  float value;
  std::int32_t index;  ///< h·K + bin
};
bool better(const candidate& a, const candidate& b) {
  return a.value > b.value || (a.value == b.value && a.index < b.index);
}

/// Keep the `budget` best of cand[0..n) and write their indices ascending; returns the count written.
std::int64_t select_row(candidate* cand, std::int64_t n, std::int64_t budget, std::int32_t* out) {
  if (budget < n) {
    std::nth_element(cand, cand + budget, cand + n, better);
    std::sort(cand, cand + budget, [](const candidate& a, const candidate& b) { return a.index < b.index; });
    n = budget;
  }
  for (std::int64_t i = 0; i < n; ++i) out[i] = cand[i].index;
  return n;
}

/// Rows' budgets for the per-row modes: fills row_ptr (prefix sums) and returns the total.
std::int64_t per_row_counts(const problem& p, const config& c, std::int64_t* row_ptr) {
  const int T = p.seq_len, H = p.heads;
  row_ptr[0] = 0;
  std::size_t r = 0;
  for (int b = 0; b < p.batch; ++b)
    for (int t = 0; t < T; ++t, ++r) {
      const int L = visible_keys(p.causal, T, t);
      const int nb = std::min(L, c.K);  // non-empty bins of either partition (docs/sea.md)
      const std::int64_t n = c.topk == topk_mode::query
                                 ? H * query_budget(c.k, c.k_oversample, c.K, L, nb)
                                 : grouped_budget(H, c.k, c.k_oversample, c.K, L, static_cast<std::int64_t>(H) * nb);
      row_ptr[r + 1] = row_ptr[r] + n;
    }
  return row_ptr[r];
}

}  // namespace

std::int64_t per_row_offsets(const problem& p, const config& c, std::int64_t* row_ptr) {
  if (c.topk == topk_mode::batch) throw std::logic_error("sea per_row_offsets: batch mode has data-dependent rows");
  return per_row_counts(p, c, row_ptr);
}

namespace {

std::int64_t batch_budget(const problem& p, const config& c) {
  const std::int64_t cells = static_cast<std::int64_t>(p.heads) * p.seq_len * std::min(p.seq_len, c.K);
  const double want = static_cast<double>(p.heads) * c.k * c.k_oversample * c.K;  // ·T/L with L = T
  return std::min(cells, std::max<std::int64_t>(1, std::llround(want)));
}

}  // namespace

std::int64_t grouped_budget(int heads, int k, double k_oversample, int K, int visible, std::int64_t cells) {
  const double want = static_cast<double>(heads) * k * k_oversample * K / visible;
  return std::min(cells, std::max<std::int64_t>(1, std::llround(want)));
}

std::int64_t query_budget(int k, double k_oversample, int K, int visible, int nonempty_bins) {
  const double want = static_cast<double>(k) * k_oversample * K / visible;
  return std::min<std::int64_t>(nonempty_bins, std::max<std::int64_t>(1, std::llround(want)));
}

selection grouped_topk(const problem& p, const config& c, const float* ahat) {
  const int T = p.seq_len, H = p.heads, K = c.K, s = c.query_skip;
  const int te = c.estimator_rows(T);
  const std::size_t rows = sz(p.batch) * T;
  selection sel;
  sel.row_ptr = tracked_buffer<std::int64_t>(rows + 1);
  tracked_buffer<int> bounds(sz(K) + 1);
  auto value = [&](int b, int h, int t, int bin) {
    return cell_value(ahat[((sz(b) * H + h) * te + t / s) * K + bin]);
  };

  if (c.topk == topk_mode::batch) {
    // One selection per sample over (h, t, bin); every row has L = T and the same bins.
    const int nb = row_bounds(c.upsample, T, K, bounds.data());
    tracked_buffer<int> bins(sz(nb));
    for (int bin = 0, i = 0; bin < K; ++bin)
      if (bounds[bin + 1] > bounds[bin]) bins[sz(i++)] = bin;
    const std::int64_t n = static_cast<std::int64_t>(H) * T * nb;
    const std::int64_t budget = std::min(n, batch_budget(p, c));
    sel.cells = tracked_buffer<std::int32_t>(sz(budget) * p.batch);
    tracked_buffer<std::int64_t> cand(sz(n));  // flat (h, t, slot) over the non-empty bins
    sel.row_ptr[0] = 0;
    std::int64_t written = 0;
    for (int b = 0; b < p.batch; ++b) {
      for (std::int64_t i = 0; i < n; ++i) cand[sz(i)] = i;
      auto val = [&](std::int64_t f) {
        const int slot = static_cast<int>(f % nb);
        const int t = static_cast<int>((f / nb) % T);
        const int h = static_cast<int>(f / (static_cast<std::int64_t>(nb) * T));
        return value(b, h, t, bins[sz(slot)]);
      };
      // Flat order (h, t, slot) is the order of the flat index h·T·K + t·K + bin, so ties go to the lower one.
      std::nth_element(cand.data(), cand.data() + budget, cand.data() + n, [&](std::int64_t x, std::int64_t y) {
        const float vx = val(x), vy = val(y);
        return vx > vy || (vx == vy && x < y);
      });
      // Re-key the winners by (t, h, slot) and emit them row by row.
      for (std::int64_t i = 0; i < budget; ++i) {
        const std::int64_t f = cand[sz(i)];
        const std::int64_t slot = f % nb, t = (f / nb) % T, h = f / (static_cast<std::int64_t>(nb) * T);
        cand[sz(i)] = (t * H + h) * nb + slot;
      }
      std::sort(cand.data(), cand.data() + budget);
      std::int64_t i = 0;
      for (int t = 0; t < T; ++t) {
        for (; i < budget && cand[sz(i)] / (static_cast<std::int64_t>(H) * nb) == t; ++i) {
          const std::int64_t key = cand[sz(i)];
          const int h = static_cast<int>((key / nb) % H), slot = static_cast<int>(key % nb);
          sel.cells[sz(written++)] = h * K + bins[sz(slot)];
        }
        sel.row_ptr[sz(b) * T + t + 1] = written;
      }
    }
    return sel;
  }

  const std::int64_t total = per_row_counts(p, c, sel.row_ptr.data());
  sel.cells = tracked_buffer<std::int32_t>(sz(total));
  tracked_buffer<candidate> cand(sz(H) * K);
  std::size_t r = 0;
  for (int b = 0; b < p.batch; ++b)
    for (int t = 0; t < T; ++t, ++r) {
      const int L = visible_keys(p.causal, T, t);
      const int nb = row_bounds(c.upsample, L, K, bounds.data());
      std::int32_t* out = sel.cells.data() + sel.row_ptr[r];
      const std::int64_t want = sel.row_ptr[r + 1] - sel.row_ptr[r];
      std::int64_t got = 0;
      if (c.topk == topk_mode::causal_batch) {
        std::int64_t n = 0;
        for (int h = 0; h < H; ++h)
          for (int bin = 0; bin < K; ++bin)
            if (bounds[bin + 1] > bounds[bin]) cand[sz(n++)] = {value(b, h, t, bin), h * K + bin};
        got = select_row(cand.data(), n, want, out);
      } else {
        const std::int64_t per_head = query_budget(c.k, c.k_oversample, K, L, nb);
        for (int h = 0; h < H; ++h) {
          std::int64_t n = 0;
          for (int bin = 0; bin < K; ++bin)
            if (bounds[bin + 1] > bounds[bin]) cand[sz(n++)] = {value(b, h, t, bin), h * K + bin};
          got += select_row(cand.data(), n, per_head, out + got);
        }
      }
      if (got != want) throw std::logic_error("sea grouped_topk: a row's non-empty bins differ from min(L, K)");
    }
  return sel;
}

std::int64_t selected_cells(const problem& p, const config& c) {
  if (c.topk == topk_mode::batch) return batch_budget(p, c) * p.batch;
  std::int64_t total = 0;
  for (int t = 0; t < p.seq_len; ++t) {
    const int L = visible_keys(p.causal, p.seq_len, t);
    const int nb = std::min(L, c.K);
    total += c.topk == topk_mode::query
                 ? p.heads * query_budget(c.k, c.k_oversample, c.K, L, nb)
                 : grouped_budget(p.heads, c.k, c.k_oversample, c.K, L, static_cast<std::int64_t>(p.heads) * nb);
  }
  return total * p.batch;
}

std::size_t topk_bytes(const problem& p, const config& c) {
  const std::size_t rows = sz(p.batch) * p.seq_len;
  std::size_t bytes = (rows + 1) * sizeof(std::int64_t) + sz(selected_cells(p, c)) * sizeof(std::int32_t) +
                      (sz(c.K) + 1) * sizeof(int);
  if (c.topk == topk_mode::batch) {
    const std::size_t nb = std::min(p.seq_len, c.K);
    bytes += nb * sizeof(int) + sz(p.heads) * p.seq_len * nb * sizeof(std::int64_t);
  } else {
    bytes += sz(p.heads) * c.K * sizeof(candidate);
  }
  return bytes;
}

}  // namespace sb::sea
