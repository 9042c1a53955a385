// Reformer LSH attention: the variant against a naive fp64 re-implementation (hash, stable sort,
// chunk windows, union of rounds), its limits, its index, causality, seeds and memory.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/reformer/lsh.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"
#include "tests/variants/variant_test_util.hpp"

using namespace sb;

namespace {

using variant_test::inputs;
using variant_test::make_inputs;
using variant_test::random_tensor;
using variant_test::rel_err;
using variant_test::run_result;
using variant_test::support_row;

problem make_problem(int b, int h, int t, int d, int k, bool causal, std::uint64_t seed = 7) {
  return variant_test::make_problem(b, h, t, d, k, causal, seed);
}

const attention_variant& reformer() { return variant_test::find_variant("reformer"); }

run_result run_variant(const problem& p, const variant_test::overrides& overrides, const inputs& x,
                       bool with_support = true) {
  return variant_test::run_variant("reformer", p, overrides, x.view(), with_support);
}

// ---- naive fp64 reference -------------------------------------------------------------------------

struct naive_result {
  std::vector<double> out;
  std::vector<std::vector<int>> support;  // per row (b·H + h)·T + i
};

/// Shared-QK score τ·q_i·q_j/‖q_j‖ in fp64.
double shared_qk_score(const float* q, int i, int j, int d) {
  double dot = 0, nn = 0;
  for (int c = 0; c < d; ++c) {
    dot += static_cast<double>(q[i * d + c]) * q[j * d + c];
    nn += static_cast<double>(q[j * d + c]) * q[j * d + c];
  }
  return dot / std::max(std::sqrt(nn), 1e-12) / std::sqrt(static_cast<double>(d));
}

/// out_i = Σ_j w_j·v_j / Σ_j w_j with w_j = mult_j·exp(s_ij) over the given keys (fp64).
void weighted_row(const float* q, const float* v, int i, int d, const std::vector<int>& keys,
                  const std::vector<double>& mult, double* out) {
  double mx = -1e300;
  for (int j : keys) mx = std::max(mx, shared_qk_score(q, i, j, d));
  double den = 0;
  std::vector<double> num(d, 0.0);
  for (std::size_t a = 0; a < keys.size(); ++a) {
    const double w = mult[a] * std::exp(shared_qk_score(q, i, keys[a], d) - mx);
    den += w;
    for (int c = 0; c < d; ++c) num[c] += w * v[keys[a] * d + c];
  }
  for (int c = 0; c < d; ++c) out[c] = num[c] / den;
}

/// Shared-QK dense attention with the self rule: all visible keys other than i, or i alone.
std::vector<double> naive_shared_qk_dense(const problem& p, const inputs& x) {
  const int t = p.seq_len, d = p.head_dim;
  std::vector<double> out(p.qkv_elements());
  for (std::size_t bh = 0; bh < static_cast<std::size_t>(p.batch) * p.heads; ++bh) {
    const float* q = x.q.data() + bh * t * d;
    const float* v = x.v.data() + bh * t * d;
    for (int i = 0; i < t; ++i) {
      std::vector<int> keys;
      for (int j = 0; j < (p.causal ? i + 1 : t); ++j)
        if (j != i) keys.push_back(j);
      if (keys.empty()) keys.push_back(i);
      weighted_row(q, v, i, d, keys, std::vector<double>(keys.size(), 1.0), out.data() + (bh * t + i) * d);
    }
  }
  return out;
}

/// The whole Reformer from its definition: rotations from the documented draw order, hashes in fp64,
/// std::stable_sort by bucket, chunks of k with a wrapped look-back, pair counts over rounds.
naive_result naive_reformer(const problem& p, const inputs& x, int n_hashes, int n_buckets, bool dedup) {
  const int t = p.seq_len, d = p.head_dim, c = *p.k, half = n_buckets / 2;
  counter_rng rng(p.seed, rng_stream::hashes);
  std::vector<float> rot(static_cast<std::size_t>(n_hashes) * d * half);
  for (auto& e : rot) e = static_cast<float>(rng.normal());
  const int n_chunks = (t + c - 1) / c;
  naive_result res;
  res.out.assign(p.qkv_elements(), 0.0);
  for (std::size_t bh = 0; bh < static_cast<std::size_t>(p.batch) * p.heads; ++bh) {
    const float* q = x.q.data() + bh * t * d;
    const float* v = x.v.data() + bh * t * d;
    // chunk[r][i]: chunk of position i in round r.
    std::vector<std::vector<int>> chunk(n_hashes, std::vector<int>(t)), order(n_hashes);
    for (int r = 0; r < n_hashes; ++r) {
      std::vector<int> bucket(t);
      for (int i = 0; i < t; ++i) {
        std::vector<double> ext(2 * half);
        for (int j = 0; j < half; ++j) {
          double s = 0;
          for (int e = 0; e < d; ++e) s += static_cast<double>(q[i * d + e]) * rot[(static_cast<std::size_t>(r) * d + e) * half + j];
          ext[j] = s;
          ext[half + j] = -s;
        }
        bucket[i] = static_cast<int>(std::max_element(ext.begin(), ext.end()) - ext.begin());
      }
      order[r].resize(t);
      std::iota(order[r].begin(), order[r].end(), 0);
      std::stable_sort(order[r].begin(), order[r].end(), [&](int a, int b) { return bucket[a] < bucket[b]; });
      for (int s = 0; s < t; ++s) chunk[r][order[r][s]] = s / c;
    }
    for (int i = 0; i < t; ++i) {
      std::vector<int> keys;
      std::vector<double> mult;
      for (int j = 0; j < t; ++j) {
        if (j == i || (p.causal && j > i)) continue;
        int n = 0;
        for (int r = 0; r < n_hashes; ++r) {
          const int ci = chunk[r][i], cj = chunk[r][j];
          const int prev = n_chunks == 1 ? -1 : (ci + n_chunks - 1) % n_chunks;
          n += (cj == ci || cj == prev) ? 1 : 0;
        }
        if (n == 0) continue;
        keys.push_back(j);
        mult.push_back(dedup ? 1.0 : n);
      }
      if (keys.empty()) {
        keys.push_back(i);
        mult.push_back(1.0);
      }
      weighted_row(q, v, i, d, keys, mult, res.out.data() + (bh * t + i) * d);
      res.support.push_back(keys);
    }
  }
  return res;
}

}  // namespace

TEST_CASE("lsh bucket counts follow the documented rules", "[reformer]") {
  CHECK(lsh::auto_n_buckets(4096, 64, lsh::bucket_rule::per_chunk) == 64);
  CHECK(lsh::auto_n_buckets(4096, 64, lsh::bucket_rule::half_chunk) == 128);
  CHECK(lsh::auto_n_buckets(100, 32, lsh::bucket_rule::per_chunk) == 4);   // T padded to 128 = 2·64
  CHECK(lsh::auto_n_buckets(100, 32, lsh::bucket_rule::half_chunk) == 8);  // 2·⌈100/32⌉
  CHECK(lsh::auto_n_buckets(10, 64, lsh::bucket_rule::per_chunk) == 2);
  CHECK(lsh::auto_n_buckets(1, 1, lsh::bucket_rule::per_chunk) == 2);
}

TEST_CASE("lsh index: hashes match fp64, the sort is the stable (bucket, position) order, sort∘unsort = id",
          "[reformer]") {
  for (int t : {1, 7, 64, 129}) {
    lsh::config cfg;
    cfg.seq_len = t;
    cfg.head_dim = 16;
    cfg.chunk = 8;
    cfg.n_buckets = lsh::auto_n_buckets(t, 8, lsh::bucket_rule::half_chunk);
    cfg.n_hashes = 3;
    std::vector<float> rot(cfg.rotation_count());
    lsh::draw_rotations(cfg, 11, rot.data());
    const auto q = random_tensor(static_cast<std::size_t>(t) * cfg.head_dim, 3, rng_stream::dataset_q);
    lsh::head_workspace ws(cfg);
    lsh::build_index(cfg, rot.data(), q.data(), ws);
    for (int r = 0; r < cfg.n_hashes; ++r) {
      const std::int32_t* b = ws.buckets(r);
      for (int i = 0; i < t; ++i) CHECK(b[i] == lsh::hash_vector(cfg, rot.data(), r, q.data() + i * cfg.head_dim));
      std::vector<int> expect(t);
      std::iota(expect.begin(), expect.end(), 0);
      std::stable_sort(expect.begin(), expect.end(), [&](int x, int y) { return b[x] < b[y]; });
      const std::vector<int> got(ws.sorted(r), ws.sorted(r) + t);
      CHECK(got == expect);
      // Unsort: chunk_of(position) is where the sort put it, so sorting then unsorting is the identity.
      std::vector<int> seen(t, 0);
      for (int s = 0; s < t; ++s) {
        CHECK(ws.chunk_of(r, got[s]) == s / cfg.chunk);
        ++seen[got[s]];
      }
      CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
    }
  }
}

TEST_CASE("reformer equals a naive union-of-windows softmax (dedup) and count-weighted softmax (no dedup)",
          "[reformer]") {
  struct shape {
    int t, k, n_hashes;
  };
  for (const shape s : {shape{1, 4, 2}, shape{7, 4, 3}, shape{64, 16, 1}, shape{64, 16, 8}, shape{129, 32, 4},
                        shape{100, 9, 8}, shape{50, 64, 2}}) {
    for (bool causal : {false, true})
      for (bool dedup : {true, false}) {
        CAPTURE(s.t, s.k, s.n_hashes, causal, dedup);
        const problem p = make_problem(2, 2, s.t, 16, s.k, causal, 5 + s.t);
        const inputs x = make_inputs(p, 21 + s.k);
        const auto r = run_variant(p, {{"n_hashes", std::int64_t{s.n_hashes}}, {"dedup", dedup}}, x);
        const int nb = lsh::auto_n_buckets(s.t, s.k, lsh::bucket_rule::per_chunk);
        const naive_result ref = naive_reformer(p, x, s.n_hashes, nb, dedup);
        CHECK(rel_err(r.out, ref.out) < 2e-6);
        REQUIRE(r.support.rows() == p.rows());
        for (std::size_t row = 0; row < p.rows(); ++row) CHECK(support_row(r.support, row) == ref.support[row]);
        CHECK(r.extras.at("reformer_n_buckets") == nb);
        CHECK(r.extras.at("reformer_index_ms") >= 0.0);
      }
  }
}

TEST_CASE("reformer with an explicit n_buckets and the half_chunk rule matches the naive form", "[reformer]") {
  const problem p = make_problem(1, 2, 96, 8, 12, false, 3);
  const inputs x = make_inputs(p, 4);
  for (const auto& [given, rule] : std::vector<std::pair<std::int64_t, std::string>>{{6, "per_chunk"}, {0, "half_chunk"}}) {
    const auto r = run_variant(p, {{"n_buckets", given}, {"bucket_rule", rule}}, x);
    const int nb = given > 0 ? static_cast<int>(given) : lsh::auto_n_buckets(96, 12, lsh::bucket_rule::half_chunk);
    CHECK(r.extras.at("reformer_n_buckets") == nb);
    CHECK(rel_err(r.out, naive_reformer(p, x, 8, nb, true).out) < 2e-6);
  }
}

TEST_CASE("reformer with one chunk covering the sequence is shared-QK dense attention with the self rule (P1)",
          "[reformer]") {
  for (bool causal : {false, true})
    for (int n_hashes : {1, 8})
      for (bool dedup : {true, false})
        for (const auto& [t, k] : std::vector<std::pair<int, int>>{{1, 4}, {37, 37}, {40, 64}, {64, 32}}) {
          // k ≥ T: a single chunk; T ≤ 2k: two chunks that see each other through the wrap.
          CAPTURE(causal, n_hashes, dedup, t, k);
          const problem p = make_problem(2, 3, t, 16, k, causal, 9);
          const inputs x = make_inputs(p, 10);
          const auto r = run_variant(p, {{"n_hashes", std::int64_t{n_hashes}}, {"dedup", dedup}}, x);
          CHECK(rel_err(r.out, naive_shared_qk_dense(p, x)) < 2e-6);
        }
}

TEST_CASE("reformer: the query's own key is used only when it has no other visible key", "[reformer]") {
  // Causal row 0 sees only itself: the output is v_0 exactly.
  const problem p = make_problem(1, 1, 32, 8, 8, true, 1);
  const inputs x = make_inputs(p, 2);
  const auto r = run_variant(p, {}, x);
  for (int c = 0; c < 8; ++c) CHECK(r.out[c] == x.v[c]);
  CHECK(support_row(r.support, 0) == std::vector<int>{0});
  // Non-causal rows never list themselves.
  const problem pn = make_problem(1, 1, 32, 8, 8, false, 1);
  const auto rn = run_variant(pn, {}, x);
  for (int i = 0; i < 32; ++i) {
    const auto keys = support_row(rn.support, i);
    CHECK(std::find(keys.begin(), keys.end(), i) == keys.end());
  }
}

TEST_CASE("reformer support lies in the own and previous chunk of some round (P9)", "[reformer]") {
  lsh::config cfg;
  cfg.seq_len = 200;
  cfg.head_dim = 16;
  cfg.chunk = 16;
  cfg.n_buckets = lsh::auto_n_buckets(200, 16, lsh::bucket_rule::per_chunk);
  cfg.n_hashes = 4;
  cfg.causal = true;
  std::vector<float> rot(cfg.rotation_count());
  lsh::draw_rotations(cfg, 5, rot.data());
  const auto q = random_tensor(200 * 16, 6, rng_stream::dataset_q);
  lsh::head_workspace ws(cfg);
  lsh::build_index(cfg, rot.data(), q.data(), ws);
  std::vector<std::int32_t> keys;
  std::size_t total = 0;
  for (int i = 0; i < cfg.seq_len; ++i) {
    lsh::row_keys(cfg, ws, i, keys);
    total += keys.size();
    CHECK(keys.size() <= static_cast<std::size_t>(cfg.n_hashes * 2 * cfg.chunk));
    for (int j : keys) {
      CHECK(j <= i);
      if (j != i) CHECK(lsh::pair_rounds(cfg, ws, i, j) >= 1);
    }
  }
  CHECK(total > static_cast<std::size_t>(cfg.seq_len));  // the rounds do reach beyond the query itself
}

TEST_CASE("reformer causal canary: changing keys and values after position t leaves rows ≤ t bitwise equal (P2)",
          "[reformer]") {
  const problem p = make_problem(2, 2, 150, 16, 16, true, 13);
  const inputs x = make_inputs(p, 14);
  const auto base = run_variant(p, {}, x, false);
  for (int cut : {0, 31, 77, 148}) {
    inputs y = x;
    for (std::size_t bh = 0; bh < 4; ++bh)
      for (int i = cut + 1; i < p.seq_len; ++i)
        for (int c = 0; c < p.head_dim; ++c) {
          y.k[(bh * p.seq_len + i) * p.head_dim + c] += 3.0f;
          y.v[(bh * p.seq_len + i) * p.head_dim + c] = -7.0f * y.v[(bh * p.seq_len + i) * p.head_dim + c] + 1.0f;
        }
    const auto moved = run_variant(p, {}, y, false);
    for (std::size_t bh = 0; bh < 4; ++bh)
      for (int i = 0; i <= cut; ++i)
        for (int c = 0; c < p.head_dim; ++c) {
          const std::size_t e = (bh * p.seq_len + i) * p.head_dim + c;
          REQUIRE(moved.out[e] == base.out[e]);
        }
  }
}

TEST_CASE("reformer: same seed gives identical buckets and output, another seed other buckets (P6)", "[reformer]") {
  const problem p = make_problem(1, 2, 128, 16, 16, false, 100);
  const inputs x = make_inputs(p, 1);
  const auto a = run_variant(p, {}, x);
  const auto b = run_variant(p, {}, x);
  CHECK(a.out == b.out);
  CHECK(a.support.cols == b.support.cols);
  problem p2 = p;
  p2.seed = 101;
  const auto c = run_variant(p2, {}, x);
  CHECK(c.out != a.out);
  CHECK(c.support.cols != a.support.cols);
  // The rotations themselves: a pure function of the seed.
  lsh::config cfg;
  cfg.head_dim = 16;
  cfg.n_buckets = 8;
  cfg.n_hashes = 2;
  std::vector<float> r1(cfg.rotation_count()), r2(cfg.rotation_count()), r3(cfg.rotation_count());
  lsh::draw_rotations(cfg, 100, r1.data());
  lsh::draw_rotations(cfg, 100, r2.data());
  lsh::draw_rotations(cfg, 101, r3.data());
  CHECK(r1 == r2);
  CHECK(r1 != r3);
}

TEST_CASE("reformer error against shared-QK dense falls with n_hashes, averaged over seeds (P3)", "[reformer]") {
  std::vector<double> mean_err;
  std::vector<double> mean_keys;
  for (int n_hashes : {1, 2, 4, 8}) {
    double err = 0, keys = 0;
    constexpr int seeds = 6;
    for (int s = 0; s < seeds; ++s) {
      // Queries with a few directions shared across positions, so that hashing has neighbours to find.
      const problem p = make_problem(1, 2, 256, 32, 16, s % 2 == 1, 1000 + s);
      inputs x = make_inputs(p, 2000 + s);
      const auto centres = random_tensor(8 * 32, 3000 + s, rng_stream::dataset_aux, 2.0);
      for (std::size_t row = 0; row < p.rows(); ++row)
        for (int c = 0; c < 32; ++c) x.q[row * 32 + c] += centres[(row % 8) * 32 + c];
      const auto r = run_variant(p, {{"n_hashes", std::int64_t{n_hashes}}}, x);
      err += rel_err(r.out, naive_shared_qk_dense(p, x)) / seeds;
      keys += static_cast<double>(r.support.cols.size()) / p.rows() / seeds;
    }
    mean_err.push_back(err);
    mean_keys.push_back(keys);
  }
  CAPTURE(mean_err, mean_keys);
  for (std::size_t i = 1; i < mean_err.size(); ++i) {
    CHECK(mean_err[i] < mean_err[i - 1]);
    CHECK(mean_keys[i] > mean_keys[i - 1]);
  }
}

TEST_CASE("reformer: rows are convex combinations (constant values come back unchanged) (P4)", "[reformer]") {
  const problem p = make_problem(1, 2, 77, 8, 10, true, 4);
  inputs x = make_inputs(p, 5);
  std::fill(x.v.begin(), x.v.end(), 1.5f);
  const auto r = run_variant(p, {}, x, false);
  for (float o : r.out) CHECK(o == Approx(1.5f).epsilon(1e-6));
}

TEST_CASE("reformer: large logits stay finite", "[reformer]") {
  const problem p = make_problem(1, 1, 300, 32, 32, false, 4);
  inputs x = make_inputs(p, 5);
  for (auto& e : x.q) e *= 400.0f;  // scores up to ~‖q‖/√d ≈ 400
  const auto r = run_variant(p, {}, x, false);
  CHECK(std::all_of(r.out.begin(), r.out.end(), [](float o) { return std::isfinite(o); }));
  CHECK(rel_err(r.out, naive_reformer(p, x, 8, lsh::auto_n_buckets(300, 32, lsh::bucket_rule::per_chunk), true).out) <
        1e-5);
}

TEST_CASE("reformer analytic memory equals the tracked peak of a run, output included", "[reformer]") {
  for (const auto& [t, k, causal] : std::vector<std::tuple<int, int, bool>>{{64, 16, false}, {333, 32, true}, {20, 64, false}}) {
    const problem p = make_problem(2, 3, t, 32, k, causal, 1);
    const auto r = run_variant(p, {}, make_inputs(p, 2), false);
    CHECK(r.peak == r.analytic);
  }
}

TEST_CASE("reformer FLOPs follow baselines.md §12 when c divides T", "[reformer]") {
  const problem p = make_problem(2, 4, 1024, 64, 32, false, 1);
  const auto& var = reformer();
  const param_set params = var.parameters().resolve("test", {});
  const double n_b = 1024.0 / 32, per_head = 8 * (1024.0 * 64 * n_b + 4.0 * 1024 * 32 * (64 + 64));
  CHECK(var.flops(p, params).executed == Approx(8 * per_head));
  CHECK(var.flops(p, params).dense_equiv == Approx(4.0 * 8 * 1024 * 1024 * 64));
}

TEST_CASE("reformer rejects an odd bucket count", "[reformer]") {
  const problem p = make_problem(1, 1, 64, 16, 16, false);
  const auto& var = reformer();
  const auto why = unsupported_reason(var, p, var.parameters().resolve("test", {{"n_buckets", std::int64_t{5}}}),
                                      device_kind::cpu);
  REQUIRE(why.has_value());
  CHECK_THAT(*why, Catch::Contains("even"));
}
