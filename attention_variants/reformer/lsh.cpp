#include "attention_variants/reformer/lsh.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "harness/core/blas.hpp"
#include "harness/core/rng.hpp"

namespace sb::lsh {
namespace {

/// Rows hashed per GEMM: the hash tile is tile_rows × n_b/2 floats.
constexpr int hash_tile_rows = 64;

int tile_rows(const config& cfg) { return std::min(hash_tile_rows, cfg.seq_len); }

/// Argmax over [x ; −x] of one rotated row of n_b/2 values, first maximum wins (torch.argmax).
int argmax_pm(const float* x, int half) {
  int best = 0;
  float best_v = x[0];
  for (int j = 1; j < half; ++j)
    if (x[j] > best_v) best_v = x[j], best = j;
  for (int j = 0; j < half; ++j)
    if (-x[j] > best_v) best_v = -x[j], best = half + j;
  return best;
}

}  // namespace

config make_config(const problem& p, const param_set& params, int chunk) {
  config c;
  c.seq_len = p.seq_len;
  c.head_dim = p.head_dim;
  c.chunk = chunk;
  c.n_hashes = static_cast<int>(params.get_int("n_hashes"));
  c.causal = p.causal;
  c.dedup = params.get_bool("dedup");
  c.scale = static_cast<float>(p.scale());
  const auto given = params.get_int("n_buckets");
  const auto rule = params.get_text("bucket_rule") == "half_chunk" ? bucket_rule::half_chunk
                                                                    : bucket_rule::per_chunk;
  c.n_buckets = given > 0 ? static_cast<int>(given) : auto_n_buckets(c.seq_len, c.chunk, rule);
  return c;
}

int auto_n_buckets(int seq_len, int chunk, bucket_rule rule) {
  const std::int64_t t = seq_len, c = chunk;
  const std::int64_t n = rule == bucket_rule::per_chunk ? 2 * ((t + 2 * c - 1) / (2 * c)) : 2 * ((t + c - 1) / c);
  return static_cast<int>(std::max<std::int64_t>(2, n));
}

std::int64_t config::pairs_per_round() const {
  std::int64_t pairs = 0;
  for (int ch = 0; ch < n_chunks(); ++ch) {
    const std::int64_t own = chunk_end(ch) - chunk_begin(ch);
    const int p = prev_chunk(ch);
    const std::int64_t prev = p < 0 ? 0 : chunk_end(p) - chunk_begin(p);
    pairs += own * (own + prev);
  }
  return pairs;
}

void draw_rotations(const config& cfg, std::uint64_t seed, float* rotations) {
  counter_rng rng(seed, rng_stream::hashes);
  const std::size_t n = cfg.rotation_count();
  for (std::size_t e = 0; e < n; ++e) rotations[e] = static_cast<float>(rng.normal());
}

int hash_vector(const config& cfg, const float* rotations, int round, const float* x) {
  const int half = cfg.n_buckets / 2, d = cfg.head_dim;
  const float* r = rotations + static_cast<std::size_t>(round) * d * half;
  std::vector<float> rotated(half, 0.0f);
  for (int c = 0; c < d; ++c)
    for (int j = 0; j < half; ++j) rotated[j] += x[c] * r[static_cast<std::size_t>(c) * half + j];
  return argmax_pm(rotated.data(), half);
}

head_workspace::head_workspace(const config& cfg)
    : m_seq_len(cfg.seq_len),
      m_n_hashes(cfg.n_hashes),
      m_tile_rows(tile_rows(cfg)),
      m_buckets(static_cast<std::size_t>(cfg.n_hashes) * cfg.seq_len),
      m_sorted(static_cast<std::size_t>(cfg.n_hashes) * cfg.seq_len),
      m_chunk_of(static_cast<std::size_t>(cfg.n_hashes) * cfg.seq_len),
      m_counts(static_cast<std::size_t>(cfg.n_buckets) + 1),
      m_hash_tile(static_cast<std::size_t>(tile_rows(cfg)) * (cfg.n_buckets / 2)),
      m_inv_norm(cfg.seq_len),
      m_lse(cfg.seq_len),
      m_window(cfg.max_window()),
      m_query_chunks(2 * static_cast<std::size_t>(cfg.n_hashes)),
      m_q(static_cast<std::size_t>(cfg.chunk_len()) * cfg.head_dim),
      m_k(static_cast<std::size_t>(cfg.max_window()) * cfg.head_dim),
      m_v(static_cast<std::size_t>(cfg.max_window()) * cfg.head_dim),
      m_s(static_cast<std::size_t>(cfg.chunk_len()) * cfg.max_window()),
      m_o(static_cast<std::size_t>(cfg.chunk_len()) * cfg.head_dim),
      m_round_lse(cfg.chunk_len()),
      m_log_count(static_cast<std::size_t>(cfg.n_hashes) + 1) {}

std::size_t head_workspace::bytes(const config& cfg) {
  const std::size_t t = cfg.seq_len, h = cfg.n_hashes, d = cfg.head_dim;
  const std::size_t c = cfg.chunk_len(), w = cfg.max_window();
  const std::size_t ints = 3 * h * t + (cfg.n_buckets + 1) + w + 2 * h;
  const std::size_t floats = static_cast<std::size_t>(tile_rows(cfg)) * (cfg.n_buckets / 2) + 2 * t + c * d +
                             2 * w * d + c * w + c * d + c + (h + 1);
  return ints * sizeof(std::int32_t) + floats * sizeof(float);
}

void build_index(const config& cfg, const float* rotations, const float* q, head_workspace& ws) {
  const int t = cfg.seq_len, d = cfg.head_dim, half = cfg.n_buckets / 2, nb = cfg.n_buckets;
  for (int r = 0; r < cfg.n_hashes; ++r) {
    std::int32_t* buckets = ws.m_buckets.data() + ws.offset(r);
    const float* rot = rotations + static_cast<std::size_t>(r) * d * half;
    for (int i0 = 0; i0 < t; i0 += ws.m_tile_rows) {
      const int rows = std::min(ws.m_tile_rows, t - i0);
      blas::sgemm(false, false, rows, half, d, 1.0f, q + static_cast<std::size_t>(i0) * d, d, rot, half, 0.0f,
                  ws.m_hash_tile.data(), half);
      for (int a = 0; a < rows; ++a)
        buckets[i0 + a] = argmax_pm(ws.m_hash_tile.data() + static_cast<std::size_t>(a) * half, half);
    }
    // Counting sort by bucket, positions ascending within a bucket: the stable sort by (bucket, pos).
    std::int32_t* counts = ws.m_counts.data();
    std::fill_n(counts, nb + 1, 0);
    for (int i = 0; i < t; ++i) ++counts[buckets[i] + 1];
    for (int b = 0; b < nb; ++b) counts[b + 1] += counts[b];
    std::int32_t* sorted = ws.m_sorted.data() + ws.offset(r);
    for (int i = 0; i < t; ++i) sorted[counts[buckets[i]]++] = i;
    for (int s = 0; s < t; ++s)
      ws.m_chunk_of[static_cast<std::size_t>(sorted[s]) * cfg.n_hashes + r] = s / cfg.chunk;
  }
}

int pair_rounds(const config& cfg, const head_workspace& ws, int i, int j) {
  int n = 0;
  for (int r = 0; r < cfg.n_hashes; ++r) {
    const int ci = ws.chunk_of(r, i), cj = ws.chunk_of(r, j);
    if (cj == ci || cj == cfg.prev_chunk(ci)) ++n;
  }
  return n;
}

void attend(const config& cfg, const float* q, const float* v, head_workspace& ws, float* out, float* lse) {
  const int t = cfg.seq_len, d = cfg.head_dim, nh = cfg.n_hashes;
  const int w_max = cfg.max_window();
  const float neg_inf = -std::numeric_limits<float>::infinity();
  // Shared-QK keys: k̂_j = q_j/‖q_j‖ (F.normalize: a zero vector stays zero).
  for (int j = 0; j < t; ++j) {
    const float* qj = q + static_cast<std::size_t>(j) * d;
    double ss = 0;
    for (int c = 0; c < d; ++c) ss += static_cast<double>(qj[c]) * qj[c];
    ws.m_inv_norm[j] = static_cast<float>(1.0 / std::max(std::sqrt(ss), 1e-12));
  }
  std::fill_n(out, static_cast<std::size_t>(t) * d, 0.0f);
  std::fill_n(lse, t, neg_inf);
  // log n for the dedup correction, n = 1 … n_hashes.
  const bool dedup = cfg.dedup && nh > 1;
  float* logc = ws.m_log_count.data();
  for (int n = 0; n <= nh; ++n) logc[n] = n == 0 ? 0.0f : std::log(static_cast<float>(n));

  for (int r = 0; r < nh; ++r) {
    const std::int32_t* sorted = ws.sorted(r);
    for (int ch = 0; ch < cfg.n_chunks(); ++ch) {
      const int b0 = cfg.chunk_begin(ch), b1 = cfg.chunk_end(ch), nq = b1 - b0;
      const int p = cfg.prev_chunk(ch);
      // Window: own chunk, then the previous chunk (keys in sorted order).
      std::int32_t* win = ws.m_window.data();
      int nw = 0;
      for (int s = b0; s < b1; ++s) win[nw++] = sorted[s];
      if (p >= 0)
        for (int s = cfg.chunk_begin(p); s < cfg.chunk_end(p); ++s) win[nw++] = sorted[s];
      for (int a = 0; a < nq; ++a)
        std::copy_n(q + static_cast<std::size_t>(win[a]) * d, d, ws.m_q.data() + static_cast<std::size_t>(a) * d);
      for (int b = 0; b < nw; ++b) {
        const std::size_t j = win[b];
        const float inv = ws.m_inv_norm[j];
        float* kb = ws.m_k.data() + static_cast<std::size_t>(b) * d;
        for (int c = 0; c < d; ++c) kb[c] = q[j * d + c] * inv;
        std::copy_n(v + j * d, d, ws.m_v.data() + static_cast<std::size_t>(b) * d);
      }
      blas::sgemm(false, true, nq, nw, d, cfg.scale, ws.m_q.data(), d, ws.m_k.data(), d, 0.0f, ws.m_s.data(), w_max);
      for (int a = 0; a < nq; ++a) {
        const int i = win[a];
        float* row = ws.m_s.data() + static_cast<std::size_t>(a) * w_max;
        std::int32_t* qc = ws.m_query_chunks.data();
        if (dedup)
          for (int rr = 0; rr < nh; ++rr) {
            qc[2 * rr] = ws.chunk_of(rr, i);
            qc[2 * rr + 1] = cfg.prev_chunk(qc[2 * rr]);
          }
        float mx = neg_inf;
        for (int b = 0; b < nw; ++b) {
          const int j = win[b];
          if (cfg.causal && j > i) {
            row[b] = neg_inf;
            continue;
          }
          if (j == i) row[b] = self_score;
          if (dedup) {
            const std::int32_t* cj = ws.m_chunk_of.data() + static_cast<std::size_t>(j) * nh;
            int n = 0;
            for (int rr = 0; rr < nh; ++rr) n += (cj[rr] == qc[2 * rr]) | (cj[rr] == qc[2 * rr + 1]);
            row[b] -= logc[n];
          }
          mx = std::max(mx, row[b]);
        }
        // The query's own key is always in its window and visible, so mx is finite.
        float sum = 0;
        for (int b = 0; b < nw; ++b) {
          row[b] = std::exp(row[b] - mx);  // exp(−inf) = 0 for masked keys
          sum += row[b];
        }
        const float inv = 1.0f / sum;
        for (int b = 0; b < nw; ++b) row[b] *= inv;
        ws.m_round_lse[a] = mx + std::log(sum);
      }
      blas::sgemm(false, false, nq, d, nw, 1.0f, ws.m_s.data(), w_max, ws.m_v.data(), d, 0.0f, ws.m_o.data(), d);
      // Online logsumexp combine over rounds, in convex form: with δ = ℓ_r − L, the new round's weight is
      // σ(δ) and out ← out + σ(δ)·(o_r − out), L ← max(L, ℓ_r) + log1p(e^{−|δ|}). The weights depend only
      // on δ, so a row whose rounds all sit at the self score (≈ −1e5, where fp32 spacing is ~0.008)
      // still combines its identical round outputs exactly.
      for (int a = 0; a < nq; ++a) {
        const std::size_t i = win[a];
        const float l_r = ws.m_round_lse[a];
        const float* o_r = ws.m_o.data() + static_cast<std::size_t>(a) * d;
        float* o = out + i * d;
        if (lse[i] == neg_inf) {
          std::copy_n(o_r, d, o);
          lse[i] = l_r;
          continue;
        }
        const float delta = l_r - lse[i];
        const float e = std::exp(-std::abs(delta));
        const float w_new = delta >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
        for (int c = 0; c < d; ++c) o[c] += w_new * (o_r[c] - o[c]);
        lse[i] = std::max(lse[i], l_r) + std::log1p(e);
      }
    }
  }
}

void row_keys(const config& cfg, const head_workspace& ws, int i, std::vector<std::int32_t>& keys) {
  keys.clear();
  for (int r = 0; r < cfg.n_hashes; ++r) {
    const std::int32_t* sorted = ws.sorted(r);
    const int ch = ws.chunk_of(r, i);
    for (int which = 0; which < 2; ++which) {
      const int c = which == 0 ? ch : cfg.prev_chunk(ch);
      if (c < 0) continue;
      for (int s = cfg.chunk_begin(c); s < cfg.chunk_end(c); ++s) {
        const int j = sorted[s];
        if (j != i && (!cfg.causal || j <= i)) keys.push_back(j);
      }
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  if (keys.empty()) keys.push_back(i);
}

double flops_per_head(const config& cfg) {
  const double hashing = static_cast<double>(cfg.seq_len) * cfg.head_dim * cfg.n_buckets;
  const double attention = 2.0 * (2.0 * cfg.head_dim) * static_cast<double>(cfg.pairs_per_round());
  return cfg.n_hashes * (hashing + attention);
}

}  // namespace sb::lsh
