#include "attention_variants/sinkhorn/block_sort.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "harness/core/blas.hpp"

namespace sb::block_sort {
namespace {

constexpr float neg_inf = -std::numeric_limits<float>::infinity();

/// Rows of the logits buffer: the whole matrix for Sinkhorn, one row otherwise.
std::size_t logits_count(const config& cfg) {
  const std::size_t n = cfg.n_blocks();
  return cfg.sort == method::pooled_sinkhorn ? n * n : n;
}

/// Mean of rows [begin, end) of x ([*, d]) into out.
void mean_rows(const float* x, int begin, int end, int d, float* out) {
  std::fill_n(out, d, 0.0f);
  for (int i = begin; i < end; ++i)
    for (int c = 0; c < d; ++c) out[c] += x[static_cast<std::size_t>(i) * d + c];
  const float inv = 1.0f / static_cast<float>(end - begin);
  for (int c = 0; c < d; ++c) out[c] *= inv;
}

/// The n best candidates by score (ties: lower block index), written to `out`.
void top_n(const float* score, std::int32_t* cand, int n_cand, int n, std::int32_t* out) {
  std::partial_sort(cand, cand + n, cand + n_cand, [score](std::int32_t x, std::int32_t y) {
    return score[x] > score[y] || (score[x] == score[y] && x < y);
  });
  std::copy_n(cand, n, out);
}

}  // namespace

int config::max_select() const {
  const int most = n_blocks() - 1;
  return std::max(0, std::min(n_sorted, most));
}

std::int64_t config::pairs() const {
  // Sorted-in blocks are counted at the full block length (the ragged last block may be among them).
  std::int64_t pairs = 0;
  for (int a = 0; a < n_blocks(); ++a) {
    const std::int64_t nq = block_end(a) - block_begin(a);
    pairs += nq * (nq + static_cast<std::int64_t>(n_select(a)) * block_len());
  }
  return pairs;
}

head_workspace::head_workspace(const config& cfg)
    : m_max_select(std::max(1, cfg.max_select())),
      m_qbar(static_cast<std::size_t>(cfg.n_blocks()) * cfg.head_dim),
      m_kbar(static_cast<std::size_t>(cfg.n_blocks()) * cfg.head_dim),
      m_logits(logits_count(cfg)),
      m_col(cfg.sort == method::pooled_sinkhorn ? cfg.n_blocks() : 0),
      m_candidates(cfg.n_blocks()),
      m_selected(static_cast<std::size_t>(cfg.n_blocks()) * std::max(1, cfg.max_select())),
      m_k(static_cast<std::size_t>(cfg.max_window()) * cfg.head_dim),
      m_v(static_cast<std::size_t>(cfg.max_window()) * cfg.head_dim),
      m_s(static_cast<std::size_t>(cfg.block_len()) * cfg.max_window()) {}

std::size_t head_workspace::bytes(const config& cfg) {
  const std::size_t nb = cfg.n_blocks(), d = cfg.head_dim, w = cfg.max_window();
  const std::size_t floats = 2 * nb * d + logits_count(cfg) + (cfg.sort == method::pooled_sinkhorn ? nb : 0) +
                             2 * w * d + static_cast<std::size_t>(cfg.block_len()) * w;
  const std::size_t ints = nb + nb * std::max(1, cfg.max_select());
  return floats * sizeof(float) + ints * sizeof(std::int32_t);
}

void sinkhorn_log(float* logits, int n, int iters, float* col) {
  for (int it = 0; it < iters; ++it) {
    for (int a = 0; a < n; ++a) {
      float* row = logits + static_cast<std::size_t>(a) * n;
      const float mx = *std::max_element(row, row + n);
      if (mx == neg_inf) continue;
      float sum = 0;
      for (int c = 0; c < n; ++c) sum += std::exp(row[c] - mx);
      const float lse = mx + std::log(sum);
      for (int c = 0; c < n; ++c) row[c] -= lse;
    }
    std::fill_n(col, n, neg_inf);  // column maxima
    for (int a = 0; a < n; ++a)
      for (int c = 0; c < n; ++c) col[c] = std::max(col[c], logits[static_cast<std::size_t>(a) * n + c]);
    for (int c = 0; c < n; ++c) {
      if (col[c] == neg_inf) continue;
      float sum = 0;
      for (int a = 0; a < n; ++a) sum += std::exp(logits[static_cast<std::size_t>(a) * n + c] - col[c]);
      const float lse = col[c] + std::log(sum);
      for (int a = 0; a < n; ++a) logits[static_cast<std::size_t>(a) * n + c] -= lse;
    }
  }
}

double balance_error(const float* logits, int n) {
  double worst = 0;
  for (int a = 0; a < n; ++a) {
    double rs = 0, cs = 0;
    bool row_any = false, col_any = false;
    for (int c = 0; c < n; ++c) {
      const float r = logits[static_cast<std::size_t>(a) * n + c], cl = logits[static_cast<std::size_t>(c) * n + a];
      if (r != neg_inf) rs += std::exp(static_cast<double>(r)), row_any = true;
      if (cl != neg_inf) cs += std::exp(static_cast<double>(cl)), col_any = true;
    }
    if (row_any) worst = std::max(worst, std::abs(rs - 1.0));
    if (col_any) worst = std::max(worst, std::abs(cs - 1.0));
  }
  return worst;
}

double sort_blocks(const config& cfg, const float* q, const float* k, head_workspace& ws) {
  if (cfg.causal && cfg.sort == method::pooled_sinkhorn)
    throw std::invalid_argument("block_sort: Sinkhorn balancing is non-causal only");
  const int nb = cfg.n_blocks(), d = cfg.head_dim;
  float* qbar = ws.m_qbar.data();
  float* kbar = ws.m_kbar.data();
  for (int c = 0; c < nb; ++c) mean_rows(k, cfg.block_begin(c), cfg.block_end(c), d, kbar + static_cast<std::size_t>(c) * d);
  if (!cfg.causal) {
    for (int a = 0; a < nb; ++a) mean_rows(q, cfg.block_begin(a), cfg.block_end(a), d, qbar + static_cast<std::size_t>(a) * d);
  } else {
    // Cumulative mean of q_0 … q_{a·b}: prefix sums first, then each divided by its length.
    int pos = 0;
    for (int a = 0; a < nb; ++a) {
      float* row = qbar + static_cast<std::size_t>(a) * d;
      if (a == 0)
        std::fill_n(row, d, 0.0f);
      else
        std::copy_n(row - d, d, row);
      for (; pos <= cfg.block_begin(a); ++pos)
        for (int c = 0; c < d; ++c) row[c] += q[static_cast<std::size_t>(pos) * d + c];
    }
    for (int a = 0; a < nb; ++a) {
      const float inv = 1.0f / static_cast<float>(cfg.block_begin(a) + 1);
      for (int c = 0; c < d; ++c) qbar[static_cast<std::size_t>(a) * d + c] *= inv;
    }
  }

  double err = 0;
  std::int32_t* cand = ws.m_candidates.data();
  if (cfg.sort == method::pooled_sinkhorn) {
    float* l = ws.m_logits.data();
    blas::sgemm(false, true, nb, nb, d, cfg.scale / cfg.temperature, qbar, d, kbar, d, 0.0f, l, nb);
    for (int a = 0; a < nb; ++a) l[static_cast<std::size_t>(a) * nb + a] = neg_inf;  // the own block is local
    sinkhorn_log(l, nb, cfg.iters, ws.m_col.data());
    err = nb > 1 ? balance_error(l, nb) : 0.0;
    for (int a = 0; a < nb; ++a) {
      int n = 0;
      for (int c = 0; c < nb; ++c)
        if (c != a) cand[n++] = c;
      top_n(l + static_cast<std::size_t>(a) * nb, cand, n, cfg.n_select(a),
            ws.m_selected.data() + static_cast<std::size_t>(a) * ws.m_max_select);
    }
    return err;
  }
  float* row = ws.m_logits.data();
  for (int a = 0; a < nb; ++a) {
    const int n_cand = cfg.candidates(a);
    if (n_cand == 0) continue;
    // Causal: only past blocks c < a are scored; non-causal: every block, the own one skipped below.
    const int width = cfg.causal ? a : nb;
    blas::sgemm(false, true, 1, width, d, cfg.scale, qbar + static_cast<std::size_t>(a) * d, d, kbar, d, 0.0f, row,
                width);
    int n = 0;
    for (int c = 0; c < width; ++c)
      if (c != a) cand[n++] = c;
    top_n(row, cand, n, cfg.n_select(a), ws.m_selected.data() + static_cast<std::size_t>(a) * ws.m_max_select);
  }
  return err;
}

void attend(const config& cfg, const float* q, const float* k, const float* v, head_workspace& ws, float* out) {
  const int d = cfg.head_dim, w_max = cfg.max_window();
  for (int a = 0; a < cfg.n_blocks(); ++a) {
    const int b0 = cfg.block_begin(a), b1 = cfg.block_end(a), nq = b1 - b0;
    // Window: the own block, then the sorted-in blocks best first.
    int nw = 0;
    auto append = [&](int begin, int end) {
      const std::size_t n = static_cast<std::size_t>(end - begin) * d;
      std::copy_n(k + static_cast<std::size_t>(begin) * d, n, ws.m_k.data() + static_cast<std::size_t>(nw) * d);
      std::copy_n(v + static_cast<std::size_t>(begin) * d, n, ws.m_v.data() + static_cast<std::size_t>(nw) * d);
      nw += end - begin;
    };
    append(b0, b1);
    const std::int32_t* sel = ws.selected(a);
    for (int s = 0; s < cfg.n_select(a); ++s) append(cfg.block_begin(sel[s]), cfg.block_end(sel[s]));
    blas::sgemm(false, true, nq, nw, d, cfg.scale, q + static_cast<std::size_t>(b0) * d, d, ws.m_k.data(), d, 0.0f,
                ws.m_s.data(), w_max);
    for (int r = 0; r < nq; ++r) {
      float* row = ws.m_s.data() + static_cast<std::size_t>(r) * w_max;
      if (cfg.causal)
        for (int c = r + 1; c < nq; ++c) row[c] = neg_inf;  // own block: keys after the query
      const float mx = *std::max_element(row, row + nw);   // finite: the query's own key is visible
      float sum = 0;
      for (int c = 0; c < nw; ++c) {
        row[c] = std::exp(row[c] - mx);
        sum += row[c];
      }
      const float inv = 1.0f / sum;
      for (int c = 0; c < nw; ++c) row[c] *= inv;
    }
    blas::sgemm(false, false, nq, d, nw, 1.0f, ws.m_s.data(), w_max, ws.m_v.data(), d, 0.0f,
                out + static_cast<std::size_t>(b0) * d, d);
  }
}

void row_keys(const config& cfg, const head_workspace& ws, int i, std::vector<std::int32_t>& keys) {
  keys.clear();
  const int a = i / cfg.block;
  const int own_end = cfg.causal ? i + 1 : cfg.block_end(a);
  for (int j = cfg.block_begin(a); j < own_end; ++j) keys.push_back(j);
  const std::int32_t* sel = ws.selected(a);
  for (int s = 0; s < cfg.n_select(a); ++s)
    for (int j = cfg.block_begin(sel[s]); j < cfg.block_end(sel[s]); ++j) keys.push_back(j);
  std::sort(keys.begin(), keys.end());
}

double flops_per_head(const config& cfg) {
  const double nb = cfg.n_blocks(), d = cfg.head_dim;
  const double pooling = 2.0 * cfg.seq_len * d;
  double logits = 0, balancing = 0;
  if (cfg.sort == method::pooled_sinkhorn) {
    logits = 2.0 * nb * nb * d;
    balancing = 6.0 * nb * nb * cfg.iters;  // per round: exp, add, subtract over rows and over columns
  } else {
    logits = cfg.causal ? nb * (nb - 1) * d : 2.0 * nb * nb * d;
  }
  return pooling + logits + balancing + 2.0 * (2.0 * d) * static_cast<double>(cfg.pairs());
}

}  // namespace sb::block_sort
