// oracle_topk: the selection is the fp64 sort-based top-k (tie rule: lower key index), the output is
// the softmax over it, k ≥ T is dense, captured mass grows with k, causal rows never see the future.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/sparse_common/naive_reference.hpp"
#include "harness/io/npy.hpp"

using namespace sb;
namespace naive = sb::sparse::naive;

namespace {

/// Sort-based reference: indices of the k largest fp64 scores (stable: lower index first), ascending.
std::vector<std::int32_t> reference_topk(const naive::inputs& in, std::size_t bh, int i, int k) {
  const std::vector<double> s = naive::scores_row(in, bh, i);
  std::vector<std::int32_t> idx(s.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return s[a] > s[b]; });
  idx.resize(std::min<std::size_t>(k, idx.size()));
  std::sort(idx.begin(), idx.end());
  return idx;
}

double captured_mass(const naive::inputs& in, const attention_support& s) {
  double total = 0;
  for (std::size_t bh = 0; bh < static_cast<std::size_t>(in.p.batch) * in.p.heads; ++bh)
    for (int i = 0; i < in.p.seq_len; ++i) {
      const std::vector<double> pr = naive::probs_row(in, bh, i);
      for (std::int32_t j : naive::row_keys(s, bh * in.p.seq_len + i)) total += pr[j];
    }
  return total / static_cast<double>(in.p.rows());
}

}  // namespace

TEST_CASE("oracle_topk selects the exact top-k and softmaxes over it", "[oracle_topk]") {
  for (bool causal : {false, true})
    for (int k : {1, 5, 16}) {
      // T = 77 spans three 32-query tiles, the last one partial.
      problem p{.batch = 2, .heads = 3, .seq_len = 77, .head_dim = 16, .causal = causal, .k = k};
      const naive::inputs in = naive::random_inputs(p, 100 + k, 2.0);
      const auto r = naive::run_variant("oracle_topk", in);
      REQUIRE(r.support.rows() == p.rows());
      for (std::size_t bh = 0; bh < 6; ++bh)
        for (int i = 0; i < p.seq_len; ++i) {
          INFO("causal=" << causal << " k=" << k << " bh=" << bh << " i=" << i);
          const auto keys = naive::row_keys(r.support, bh * p.seq_len + i);
          CHECK(keys == reference_topk(in, bh, i, k));
          CHECK(keys.size() == static_cast<std::size_t>(std::min(k, naive::visible(p, i))));
        }
      CHECK(naive::rel_err(r.out, naive::attend_support(in, r.support)) < 1e-5);
    }
}

TEST_CASE("oracle_topk breaks ties by the lower key index", "[oracle_topk]") {
  // Integer-valued inputs make every score exact, so equal scores are really equal.
  problem p{.batch = 1, .heads = 2, .seq_len = 40, .head_dim = 4, .causal = false, .k = 5};
  naive::inputs in = naive::random_inputs(p, 1);
  for (std::size_t e = 0; e < in.q.size(); ++e) {
    in.q[e] = static_cast<float>(static_cast<int>(e * 7 % 5) - 2);
    in.k[e] = static_cast<float>(static_cast<int>(e * 3 % 4) - 1);
  }
  // Key 20 duplicates key 3 and key 35 duplicates key 11 in every head.
  for (std::size_t bh = 0; bh < 2; ++bh)
    for (int c = 0; c < p.head_dim; ++c) {
      in.k[in.at(bh, 20) + c] = in.k[in.at(bh, 3) + c];
      in.k[in.at(bh, 35) + c] = in.k[in.at(bh, 11) + c];
    }
  for (bool causal : {false, true}) {
    in.p.causal = causal;
    const auto r = naive::run_variant("oracle_topk", in);
    bool saw_tie_at_boundary = false;
    for (std::size_t bh = 0; bh < 2; ++bh)
      for (int i = 0; i < p.seq_len; ++i) {
        const auto want = reference_topk(in, bh, i, 5);
        CHECK(naive::row_keys(r.support, bh * p.seq_len + i) == want);
        // Is the k-th best score shared with a key that was left out?
        const std::vector<double> s = naive::scores_row(in, bh, i);
        if (want.size() == 5) {
          const double kth = *std::min_element(want.begin(), want.end(), [&](int a, int b) { return s[a] < s[b]; });
          for (int j = 0; j < static_cast<int>(s.size()); ++j)
            if (std::find(want.begin(), want.end(), j) == want.end() && s[j] == s[kth]) saw_tie_at_boundary = true;
        }
      }
    CHECK(saw_tie_at_boundary);  // the data really exercises the tie rule
  }
}

TEST_CASE("oracle_topk with k >= T is dense; captured mass grows with k", "[oracle_topk]") {
  const attention_variant* v = variant_registry::instance().find("oracle_topk");
  REQUIRE(v);
  for (bool causal : {false, true}) {
    problem p{.batch = 1, .heads = 2, .seq_len = 50, .head_dim = 16, .causal = causal};
    const auto exact = v->exact_setting(p);
    REQUIRE(exact);
    REQUIRE(exact->k);
    p.k = exact->k;
    const naive::inputs in = naive::random_inputs(p, 7, 2.0);
    CHECK(naive::rel_err(naive::run_variant("oracle_topk", in).out, naive::dense(in)) < 1e-5);
    double prev_mass = 0, prev_err = 1e9;
    for (const auto& step : v->budget_ladder(p)) {
      naive::inputs ink = in;
      ink.p.k = step.k;
      const auto r = naive::run_variant("oracle_topk", ink);
      const double mass = captured_mass(ink, r.support);
      const double err = naive::rel_err(r.out, naive::dense(ink));
      CHECK(mass >= prev_mass);
      CHECK(err < prev_err);
      prev_mass = mass;
      prev_err = err;
    }
    CHECK(prev_mass == Approx(1.0));
  }
}

TEST_CASE("oracle_topk: causal canary (bitwise) and no future keys", "[oracle_topk]") {
  problem p{.batch = 1, .heads = 2, .seq_len = 70, .head_dim = 8, .causal = true, .k = 6};
  const naive::inputs in = naive::random_inputs(p, 5);
  const auto base = naive::run_variant("oracle_topk", in);
  const int cut = 33;
  naive::inputs changed = in;
  for (std::size_t bh = 0; bh < 2; ++bh)
    for (int j = cut + 1; j < p.seq_len; ++j)
      for (int c = 0; c < p.head_dim; ++c) {
        changed.k[in.at(bh, j) + c] = 50.0f;  // would dominate every score if it were visible
        changed.v[in.at(bh, j) + c] = -9.0f;
      }
  const auto after = naive::run_variant("oracle_topk", changed);
  for (std::size_t bh = 0; bh < 2; ++bh)
    for (int i = 0; i < p.seq_len; ++i) {
      for (std::int32_t j : naive::row_keys(after.support, bh * p.seq_len + i)) CHECK(j <= i);
      if (i <= cut)
        for (int c = 0; c < p.head_dim; ++c) CHECK(base.out[in.at(bh, i) + c] == after.out[in.at(bh, i) + c]);
    }
}

TEST_CASE("oracle_topk: FLOPs and memory models", "[oracle_topk]") {
  const attention_variant* v = variant_registry::instance().find("oracle_topk");
  const param_set params = v->parameters().resolve("t", {});
  problem p{.batch = 1, .heads = 2, .seq_len = 64, .head_dim = 16, .causal = false, .k = 8};
  // Scoring 64·64 pairs, attending 64·8 pairs, per head.
  CHECK(v->flops(p, params).executed == Approx(2.0 * (2.0 * 16 * 64 * 64 + 2.0 * 64 * 8 * 32)));
  // Memory: the output, one [32, T] score tile, a T-float selection workspace, k key ids, k scores.
  CHECK(v->analytic_memory_bytes(p, params) == p.qkv_elements() * 4 + 32 * 64 * 4 + 64 * 4 + 8 * 4 + 8 * 4);
}

// External truth: the per-head mass table of ../shared/data/README.md (brown_lm_qkv.npy, causal,
// queries 256..2047): mass captured by the exact top-64 keys / by the last 64 keys (window k=64).
namespace {

const std::filesystem::path brown_file = SEABENCH_SHARED_DATA_DIR "/brown_lm_qkv.npy";
// README table, [layer][head] = {top-64, window-64}.
constexpr double brown_table[4][4][2] = {
    {{0.68, 0.53}, {0.84, 0.61}, {0.84, 0.81}, {0.85, 0.70}},
    {{0.99, 0.98}, {0.99, 0.99}, {1.00, 0.98}, {1.00, 0.98}},
    {{0.98, 0.93}, {1.00, 0.98}, {0.97, 0.92}, {0.93, 0.82}},
    {{0.91, 0.62}, {0.93, 0.64}, {0.92, 0.65}, {1.00, 0.41}},
};

struct brown_masses {
  double top[4][4];
  double window[4][4];
};

/// Mean fp64 softmax mass over queries 256..2047 of the supports oracle_topk and window report at
/// k = 64 on every layer and head (computed once).
const brown_masses& brown_measured() {
  static const brown_masses m = [] {
    brown_masses r{};
    npy_reader reader(brown_file);
    const std::vector<std::int64_t> want_shape{4, 3, 4, 2048, 64};
    if (reader.header().shape != want_shape) throw std::runtime_error("unexpected shape " + reader.header().shape_string());
    const int heads = 4, t = 2048, d = 64, first_query = 256;
    const problem p{.batch = 1, .heads = heads, .seq_len = t, .head_dim = d, .causal = true, .k = 64};
    for (int layer = 0; layer < 4; ++layer) {
      naive::inputs in{p, {}, {}, {}};
      std::vector<float>* tensors[3] = {&in.q, &in.k, &in.v};
      for (int which = 0; which < 3; ++which) {
        tensors[which]->resize(p.qkv_elements());
        reader.read(static_cast<std::uint64_t>(layer * 3 + which) * p.qkv_elements(), npy_element::f16,
                    *tensors[which]);
      }
      const auto top = naive::run_variant("oracle_topk", in);
      const auto win = naive::run_variant("window", in);
      for (int h = 0; h < heads; ++h) {
        double mass_top = 0, mass_win = 0;
        for (int i = first_query; i < t; ++i) {
          const std::vector<double> pr = naive::probs_row(in, h, i);
          const std::size_t row = static_cast<std::size_t>(h) * t + i;
          for (std::int32_t j : naive::row_keys(top.support, row)) mass_top += pr[j];
          const auto wkeys = naive::row_keys(win.support, row);
          if (wkeys.size() != 64u || wkeys.front() != i - 63 || wkeys.back() != i)
            throw std::runtime_error("window support is not the last 64 keys");
          for (std::int32_t j : wkeys) mass_win += pr[j];
        }
        r.top[layer][h] = mass_top / (t - first_query);
        r.window[layer][h] = mass_win / (t - first_query);
      }
    }
    return r;
  }();
  return m;
}

}  // namespace

TEST_CASE("oracle_topk at k=64 reproduces the brown_lm_qkv top-64 mass column", "[oracle_topk][brown]") {
  if (!std::filesystem::exists(brown_file)) {
    WARN("skipped: " << brown_file << " not found");
    return;
  }
  const brown_masses& m = brown_measured();
  for (int layer = 0; layer < 4; ++layer)
    for (int h = 0; h < 4; ++h) {
      INFO("layer " << layer << " head " << h << ": top-64 " << m.top[layer][h] << ", table "
                    << brown_table[layer][h][0]);
      CHECK(std::abs(m.top[layer][h] - brown_table[layer][h][0]) <= 0.01);
      CHECK(m.top[layer][h] >= m.window[layer][h]);  // the oracle bounds any 64-key support
    }
}

// Three cells of the README's window column disagree with the data: over queries 256..2047 the
// last-64-keys mass of layer 0 head 0, layer 2 head 3 and layer 3 head 0 is 0.519 / 0.803 / 0.598, not
// 0.53 / 0.82 / 0.62. An independent fp64 NumPy computation gives the same three values:
//   a = np.load(f).astype(np.float64); q, k = a[L, 0, h], a[L, 1, h]; s = q @ k.T / 8 (causal mask)
//   p = softmax(s); mean over i in 256..2047 of p[i, i-63:i+1].sum()
// so those cells are checked against that computation (±0.002) and the other 13 against the README
// (±0.01). The discrepancy is reported upstream in the closing note of the baselines issue.
TEST_CASE("window at k=64 vs the brown_lm_qkv window mass column", "[window][brown]") {
  if (!std::filesystem::exists(brown_file)) {
    WARN("skipped: " << brown_file << " not found");
    return;
  }
  struct recomputed_cell {
    int layer, head;
    double mass;
  };
  constexpr recomputed_cell recomputed[] = {{0, 0, 0.519}, {2, 3, 0.803}, {3, 0, 0.598}};
  const brown_masses& m = brown_measured();
  for (int layer = 0; layer < 4; ++layer)
    for (int h = 0; h < 4; ++h) {
      double expected = brown_table[layer][h][1], tolerance = 0.01;
      for (const auto& c : recomputed)
        if (c.layer == layer && c.head == h) {
          expected = c.mass;
          tolerance = 0.002;
        }
      INFO("layer " << layer << " head " << h << ": window-64 " << m.window[layer][h] << ", expected " << expected);
      CHECK(std::abs(m.window[layer][h] - expected) <= tolerance);
    }
}
