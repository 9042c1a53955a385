// SEA end to end: the dense limit for every estimator, the oracle's exact top bins, FlatCSR invariants on
// real selections, the causal canary for every estimator (the CNN decoder included), the memory model
// and its linearity in T, the instrumentation, query_skip and the gated output mix.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/estimators.hpp"
#include "attention_variants/sea/flat_csr.hpp"
#include "attention_variants/sea/learned_estimator.hpp"
#include "attention_variants/sea/topk.hpp"
#include "harness/core/errors.hpp"
#include "tests/variants/sea_test_util.hpp"

using namespace sb;
using namespace sb::sea;
using sea_test::make_problem;
using sea_test::params_with;
using sea_test::random_inputs;
using sea_test::run_sea;

namespace {
const char* const all_estimators[] = {"performer_hist", "pooled", "oracle", "performer"};

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("seabench_sea_" + name)).string();
}
}  // namespace

TEST_CASE("sea: k = T with output=sparse is exact attention for every estimator", "[sea]") {
  for (bool causal : {false, true})
    for (const char* est : all_estimators)
      for (const char* up : {"csr", "nearest"}) {
        INFO((causal ? "causal " : "non-causal ") << est << " " << up);
        const problem p = make_problem(40, causal, 40, 2, 16);
        const auto in = random_inputs(p, 7);
        const auto r = run_sea(p, params_with({{"estimator", std::string(est)}, {"K", std::int64_t{8}},
                                               {"upsample", std::string(up)}}),
                               in);
        CHECK(sea_test::rel_err(r.out, sea_test::exact_attention(p, in)) < 1e-5);
        CHECK(r.ctx.extras.at("sea_keys_per_query_mean") == Approx(causal ? 20.5 : 40.0));
      }
}

TEST_CASE("sea: estimator=oracle with topk_mode=query selects the exact top bins", "[sea]") {
  for (bool causal : {false, true}) {
    INFO((causal ? "causal" : "non-causal"));
    problem p = make_problem(48, causal, 6, 2, 16);
    const auto in = random_inputs(p, 11, 2.0);  // peaked attention: distinct bin masses
    config c = make_config(p, params_with({{"estimator", std::string("oracle")}, {"K", std::int64_t{16}},
                                           {"topk_mode", std::string("query")}}));
    auto est = make_estimator(p, c);
    std::vector<float> ahat(static_cast<std::size_t>(p.heads) * p.seq_len * c.K);
    est->estimate(in.view(), ahat.data(), nullptr);
    const selection sel = grouped_topk(p, c, ahat.data());
    const auto exact_p = [&](int h, int t, int j) {  // exact probability in fp64
      const int L = causal ? t + 1 : p.seq_len, d = p.head_dim;
      std::vector<double> s(static_cast<std::size_t>(L));
      for (int jj = 0; jj < L; ++jj) {
        double dot = 0;
        for (int x = 0; x < d; ++x)
          dot += double(in.q[((h * p.seq_len) + t) * d + x]) * in.k[((h * p.seq_len) + jj) * d + x];
        s[jj] = dot / std::sqrt(double(d));
      }
      const double mx = *std::max_element(s.begin(), s.end());
      double sum = 0;
      for (double x : s) sum += std::exp(x - mx);
      return std::exp(s[j] - mx) / sum;
    };
    for (int t = 0; t < p.seq_len; ++t) {
      const int L = causal ? t + 1 : p.seq_len;
      std::vector<int> b(static_cast<std::size_t>(c.K) + 1);
      const int nb = row_bounds(c.upsample, L, c.K, b.data());
      const auto budget = query_budget(c.k, 1.0, c.K, L, nb);
      std::vector<std::int32_t> want;
      for (int h = 0; h < p.heads; ++h) {
        std::vector<std::pair<double, int>> mass;
        for (int bin = 0; bin < c.K; ++bin) {
          if (b[bin + 1] == b[bin]) continue;
          double m = 0;
          for (int j = b[bin]; j < b[bin + 1]; ++j) m += exact_p(h, t, j);
          CHECK(ahat[(static_cast<std::size_t>(h) * p.seq_len + t) * c.K + bin] == Approx(m).epsilon(1e-4).margin(1e-6));
          mass.emplace_back(-m, bin);
        }
        std::sort(mass.begin(), mass.end());
        std::vector<std::int32_t> top;
        for (std::int64_t i = 0; i < budget; ++i) top.push_back(h * c.K + mass[i].second);
        std::sort(top.begin(), top.end());
        want.insert(want.end(), top.begin(), top.end());
      }
      INFO("t=" << t);
      CHECK(std::vector<std::int32_t>(sel.cells.data() + sel.row_ptr[t], sel.cells.data() + sel.row_ptr[t + 1]) == want);
    }
  }
}

TEST_CASE("sea: FlatCSR invariants on real selections", "[sea]") {
  struct setting {
    bool causal;
    const char* topk;
    const char* up;
    double oversample;
    int k;
  };
  const setting settings[] = {{false, "causal_batch", "csr", 1.0, 3},  {true, "causal_batch", "csr", 1.0, 3},
                              {true, "causal_batch", "nearest", 1.0, 4}, {false, "query", "csr", 1.0, 2},
                              {true, "query", "nearest", 1.0, 2},       {false, "batch", "csr", 1.0, 3},
                              {true, "causal_batch", "csr", 2.0, 3},   {false, "causal_batch", "nearest", 3.0, 5}};
  for (const auto& s : settings) {
    INFO((s.causal ? "causal " : "non-causal ") << s.topk << " " << s.up << " oversample " << s.oversample);
    const problem p = make_problem(150, s.causal, s.k, 3, 8, 2);
    const auto in = random_inputs(p, 5);
    const param_set params = params_with({{"K", std::int64_t{16}}, {"topk_mode", std::string(s.topk)},
                                          {"upsample", std::string(s.up)}, {"k_oversample", s.oversample}});
    const config c = make_config(p, params);
    auto est = make_estimator(p, c);
    std::vector<float> ahat(static_cast<std::size_t>(p.batch) * p.heads * p.seq_len * c.K);
    est->estimate(in.view(), ahat.data(), nullptr);
    const selection sel = grouped_topk(p, c, ahat.data());
    const flat_csr csr = upsample(p, c, sel);
    CHECK(sel.row_ptr[csr.rows()] == selected_cells(p, c));
    for (std::size_t r = 0; r < csr.rows(); ++r) {
      const int t = static_cast<int>(r % p.seq_len);
      const int L = s.causal ? t + 1 : p.seq_len;
      std::vector<int> b(static_cast<std::size_t>(c.K) + 1);
      const int nb = row_bounds(c.upsample, L, c.K, b.data());
      const std::int64_t cells = sel.row_ptr[r + 1] - sel.row_ptr[r];
      if (c.topk == topk_mode::causal_batch)
        REQUIRE(cells == grouped_budget(p.heads, c.k, c.k_oversample, c.K, L, std::int64_t{p.heads} * nb));
      if (c.topk == topk_mode::query)
        REQUIRE(cells == p.heads * query_budget(c.k, c.k_oversample, c.K, L, nb));
      std::int64_t expect_len = 0;
      for (std::int64_t i = sel.row_ptr[r]; i < sel.row_ptr[r + 1]; ++i) {
        const int bin = sel.cells[i] % c.K;
        REQUIRE(b[bin + 1] > b[bin]);
        expect_len += cell_keep(c.upsample, b[bin + 1] - b[bin], c.k, c.k_oversample);
      }
      REQUIRE(csr.row_ptr[r + 1] - csr.row_ptr[r] == expect_len);
      for (int h = 0; h < p.heads; ++h) {
        const auto seg = csr.segment(r, h);
        for (std::size_t i = 0; i < seg.size(); ++i) {
          REQUIRE(seg[i] >= 0);
          REQUIRE(seg[i] < L);  // in range, and no future key when causal
          if (i) REQUIRE(seg[i - 1] < seg[i]);
        }
        if (c.upsample == upsample_mode::csr) {  // ≤ k keys per cell
          std::vector<int> per_bin(static_cast<std::size_t>(c.K), 0);
          for (auto j : seg) ++per_bin[static_cast<std::size_t>(std::upper_bound(b.begin(), b.end(), j) - b.begin() - 1)];
          for (int x : per_bin) REQUIRE(x <= c.k);
        }
      }
    }
    // The analytic expectation equals the real key count when the cell sizes do not vary (nearest,
    // oversample 1) and stays close otherwise.
    CHECK(expected_nnz(p, c) == Approx(static_cast<double>(csr.nnz())).epsilon(0.15));
  }
}

TEST_CASE("sea: causal canary for every estimator, the CNN decoder included", "[sea]") {
  for (const char* est : all_estimators)
    for (int skip : {1, 3}) {
      INFO(est << " query_skip " << skip);
      const problem p = make_problem(45, true, 3, 3, 8);
      const param_set params = params_with(
          {{"estimator", std::string(est)}, {"K", std::int64_t{8}}, {"query_skip", std::int64_t{skip}}});
      const auto in = random_inputs(p, 21);
      const auto base = run_sea(p, params, in);
      for (int cut : {0, 9, 30, p.seq_len - 2}) {
        auto changed = in;
        counter_rng rng(123 + cut, rng_stream::dataset_aux);
        for (int bh = 0; bh < p.heads; ++bh)
          for (int j = cut + 1; j < p.seq_len; ++j)
            for (int x = 0; x < p.head_dim; ++x) {
              const std::size_t e = (static_cast<std::size_t>(bh) * p.seq_len + j) * p.head_dim + x;
              changed.q[e] = static_cast<float>(3 * rng.normal());
              changed.k[e] = static_cast<float>(3 * rng.normal());
              changed.v[e] = static_cast<float>(3 * rng.normal());
            }
        const auto after = run_sea(p, params, changed);
        bool differs_later = false;
        for (int bh = 0; bh < p.heads; ++bh)
          for (int i = 0; i < p.seq_len; ++i)
            for (int x = 0; x < p.head_dim; ++x) {
              const std::size_t e = (static_cast<std::size_t>(bh) * p.seq_len + i) * p.head_dim + x;
              if (i <= cut) REQUIRE(after.out[e] == base.out[e]);
              else differs_later = differs_later || after.out[e] != base.out[e];
            }
        CHECK(differs_later);
      }
    }
}

TEST_CASE("sea: the learned estimator's Â rows are causal and its CNN mixes heads", "[sea]") {
  // Changing head 0's inputs after position 20 leaves every head's Â rows ≤ 20 unchanged, and moves later
  // rows of head 1 as well (the CNN's channels span all heads).
  const problem p = make_problem(40, true, 3, 2, 8);
  const config c = make_config(p, params_with({{"estimator", std::string("performer")}, {"K", std::int64_t{16}}}));
  auto est = make_estimator(p, c);
  const auto in = random_inputs(p, 2);
  auto changed = in;
  for (int j = 21; j < p.seq_len; ++j)
    for (int x = 0; x < p.head_dim; ++x) changed.v[static_cast<std::size_t>(j) * p.head_dim + x] += 5.0f;
  std::vector<float> a(static_cast<std::size_t>(p.heads) * p.seq_len * c.K), b(a.size());
  est->estimate(in.view(), a.data(), nullptr);
  est->estimate(changed.view(), b.data(), nullptr);
  bool head1_moved = false;
  for (int h = 0; h < p.heads; ++h)
    for (int t = 0; t < p.seq_len; ++t)
      for (int x = 0; x < c.K; ++x) {
        const std::size_t e = (static_cast<std::size_t>(h) * p.seq_len + t) * c.K + x;
        if (t <= 20) REQUIRE(a[e] == b[e]);
        else if (h == 1) head1_moved = head1_moved || a[e] != b[e];
      }
  CHECK(head1_moved);
  for (std::size_t r = 0; r < a.size() / c.K; ++r)
    CHECK(std::accumulate(a.begin() + r * c.K, a.begin() + (r + 1) * c.K, 0.0) == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("sea: analytic memory matches the tracked peak; the peak is linear in T", "[sea]") {
  struct setting {
    const char* est;
    bool causal;
    const char* topk;
    const char* up;
    int skip;
  };
  const setting settings[] = {{"performer_hist", false, "causal_batch", "csr", 1}, {"performer_hist", true, "causal_batch", "csr", 1},
                              {"pooled", true, "query", "nearest", 1},           {"pooled", false, "batch", "csr", 1},
                              {"oracle", true, "causal_batch", "csr", 1},        {"oracle", false, "causal_batch", "nearest", 2},
                              {"performer", true, "causal_batch", "csr", 1},     {"performer", false, "causal_batch", "csr", 2}};
  for (const auto& s : settings) {
    INFO(s.est << (s.causal ? " causal " : " non-causal ") << s.topk << " " << s.up << " skip " << s.skip);
    const param_set params = params_with({{"estimator", std::string(s.est)}, {"K", std::int64_t{32}},
                                          {"topk_mode", std::string(s.topk)}, {"upsample", std::string(s.up)},
                                          {"query_skip", std::int64_t{s.skip}}});
    std::vector<double> peaks;
    for (int t : {256, 512, 1024}) {
      const problem p = make_problem(t, s.causal, 8, 2, 16);
      const auto r = run_sea(p, params, random_inputs(p, 3));
      const double analytic = static_cast<double>(memory_bytes(p, make_config(p, params)));
      INFO("T=" << t << " tracked " << r.tracked_peak << " analytic " << analytic);
      CHECK(std::abs(static_cast<double>(r.tracked_peak) / analytic - 1) < 0.10);
      peaks.push_back(static_cast<double>(r.tracked_peak));
    }
    // No faster than linear: doubling T at most doubles the peak (plus the O(K log T) budget terms).
    CHECK(peaks[1] / peaks[0] < 2.2);
    CHECK(peaks[2] / peaks[1] < 2.2);
    // The model equals the tracked peak here, so its log-log slope at long T is the peak's: linear.
    const problem p8 = make_problem(8192, s.causal, 8, 2, 16), p32 = make_problem(32768, s.causal, 8, 2, 16);
    const double slope = std::log(double(memory_bytes(p32, make_config(p32, params))) /
                                  double(memory_bytes(p8, make_config(p8, params)))) / std::log(4.0);
    INFO("analytic log-log slope over T = 8192 .. 32768: " << slope);
    if (std::string(s.up) == "csr") {
      CHECK(slope > 0.9);
      CHECK(slope < 1.1);
    } else {
      // The dense path keeps every key of a selected cell: once L/K > k a row keeps ≥ L/K keys, so its
      // support grows as T²/K (docs/sea.md); only the csr path is linear at every T.
      CHECK(slope > 1.5);
    }
  }
}

TEST_CASE("sea: instrumentation columns", "[sea]") {
  const problem p = make_problem(128, true, 8, 2, 16);
  const auto in = random_inputs(p, 4);
  const auto r = run_sea(p, params_with({{"K", std::int64_t{16}}}), in, true);
  const auto& x = r.ctx.extras;
  for (const auto& name : extra_column_names()) {
    INFO(name);
    CHECK(x.count(name) == 1);
  }
  const double stages = x.at("sea_estimate_ms") + x.at("sea_topk_ms") + x.at("sea_mask_ms") + x.at("sea_attend_ms") +
                        x.at("sea_mix_ms");
  CHECK(stages <= x.at("sea_total_ms") + 1e-9);
  CHECK(stages >= 0.9 * x.at("sea_total_ms"));
  CHECK(x.at("estimator_trained") == 0.0);
  CHECK(x.at("sea_keys_per_query_max") >= x.at("sea_keys_per_query_mean"));
  // The support has one row per (b, h, t) and its mean length is the mean keys per query.
  REQUIRE(r.support.rows() == p.rows());
  CHECK(static_cast<double>(r.support.cols.size()) / p.rows() == Approx(x.at("sea_keys_per_query_mean")));
  const double mass = x.at("sea_oracle_cell_mass");
  CHECK(mass > 0.0);
  CHECK(mass <= 1.0 + 1e-6);
  // Without a support (timed calls) the quadratic column is not computed.
  const auto timed = run_sea(p, params_with({{"K", std::int64_t{16}}}), in, false);
  CHECK(timed.ctx.extras.count("sea_oracle_cell_mass") == 0);
}

TEST_CASE("sea: the oracle cell mass is 1 when every cell is selected and grows with k", "[sea]") {
  problem p = make_problem(64, false, 64, 2, 16);
  const auto in = random_inputs(p, 8);
  const auto params = params_with({{"estimator", std::string("oracle")}, {"K", std::int64_t{16}}});
  CHECK(run_sea(p, params, in, true).ctx.extras.at("sea_oracle_cell_mass") == Approx(1.0).epsilon(1e-5));
  double last = 0;
  for (int k : {2, 8, 24}) {
    p.k = k;
    const double m = run_sea(p, params, in, true).ctx.extras.at("sea_oracle_cell_mass");
    CHECK(m > last);
    last = m;
  }
}

TEST_CASE("sea: query_skip s makes row t use estimator row s*floor(t/s)", "[sea]") {
  const problem p = make_problem(30, true, 2, 2, 8);
  const auto in = random_inputs(p, 6);
  const config c1 = make_config(p, params_with({{"estimator", std::string("pooled")}, {"K", std::int64_t{8}}}));
  const config c4 = make_config(p, params_with({{"estimator", std::string("pooled")}, {"K", std::int64_t{8}},
                                                {"query_skip", std::int64_t{4}}}));
  CHECK(c4.estimator_rows(30) == 8);
  std::vector<float> a1(static_cast<std::size_t>(p.heads) * 30 * 8), a4(static_cast<std::size_t>(p.heads) * 8 * 8);
  make_estimator(p, c1)->estimate(in.view(), a1.data(), nullptr);
  make_estimator(p, c4)->estimate(in.view(), a4.data(), nullptr);
  for (int h = 0; h < p.heads; ++h)
    for (int e = 0; e < 8; ++e)
      for (int b = 0; b < 8; ++b)
        CHECK(a4[(static_cast<std::size_t>(h) * 8 + e) * 8 + b] == a1[(static_cast<std::size_t>(h) * 30 + 4 * e) * 8 + b]);
  // Rows 4e..4e+3 select from the same Â values: identical cells whenever their bins and budgets agree.
  const selection s4 = grouped_topk(p, c4, a4.data());
  CHECK(s4.row_ptr[30] == selected_cells(p, c4));
}

TEST_CASE("sea: check() rejects batch mode when causal and mix without trained gates", "[sea]") {
  const auto* v = variant_registry::instance().find("sea");
  REQUIRE(v);
  problem p = make_problem(32, true, 4);
  CHECK(v->check(p, params_with({{"topk_mode", std::string("batch")}})).has_value());
  p.causal = false;
  CHECK_FALSE(v->check(p, params_with({{"topk_mode", std::string("batch")}})).has_value());
  CHECK(v->check(p, params_with({{"output", std::string("mix")}})).has_value());
  CHECK(v->check(p, params_with({{"output", std::string("mix")}, {"estimator", std::string("performer")}})).has_value());
  CHECK(v->check(p, params_with({{"estimator", std::string("performer")}, {"K", std::int64_t{7}}})).has_value());
  CHECK_FALSE(v->check(p, params_with({{"estimator", std::string("performer")}, {"K", std::int64_t{6}}})).has_value());
  p.causal = true;
  CHECK(v->check(p, params_with({{"estimator", std::string("performer")}, {"K", std::int64_t{6}}})).has_value());
  CHECK_THROWS_AS(sea::pipeline(p, make_config(p, params_with({{"topk_mode", std::string("batch")}}))), unsupported_case);
}

TEST_CASE("sea: output=mix with a weights file gates and blends, and rows say estimator_trained=1", "[sea]") {
  for (bool causal : {false, true}) {
    INFO((causal ? "causal" : "non-causal"));
    const problem p = make_problem(32, causal, 4, 2, 8);
    const config base = make_config(p, params_with({{"estimator", std::string("performer")}, {"K", std::int64_t{8}}}));
    const std::string path = temp_path(causal ? "mix_causal.safetensors" : "mix.safetensors");
    write_safetensors(path, performer_weight_tensors(random_performer_weights(p, base), p, base));
    const auto in = random_inputs(p, 9);
    const auto sparse = run_sea(p, params_with({{"estimator", std::string("performer")}, {"K", std::int64_t{8}},
                                                {"weights", path}}), in);
    const auto mixed = run_sea(p, params_with({{"estimator", std::string("performer")}, {"K", std::int64_t{8}},
                                               {"weights", path}, {"output", std::string("mix")}}), in);
    CHECK(sparse.ctx.extras.at("estimator_trained") == 1.0);
    CHECK(mixed.ctx.extras.at("sea_mix_ms") >= 0.0);
    // Recompute the mix from the sparse output and the gates for one row: o = σ(s1)·σ(s0)·o_sparse + (1−σ(s1))·avg.
    auto est = make_estimator(p, make_config(p, params_with({{"estimator", std::string("performer")},
                                                             {"K", std::int64_t{8}}, {"weights", path}})));
    std::vector<float> ahat(static_cast<std::size_t>(p.heads) * p.seq_len * 8), gates(static_cast<std::size_t>(p.heads) * p.seq_len * 2);
    est->estimate(in.view(), ahat.data(), gates.data());
    const int t = 17, h = 1, d = p.head_dim;
    const float s0 = 1.0f / (1.0f + std::exp(-gates[(h * p.seq_len + t) * 2]));
    const float s1 = 1.0f / (1.0f + std::exp(-gates[(h * p.seq_len + t) * 2 + 1]));
    for (int x = 0; x < d; ++x) {
      double avg = 0;
      if (causal) {
        for (int j = 0; j <= t; ++j) avg += in.v[(static_cast<std::size_t>(h) * p.seq_len + j) * d + x];
        avg /= t + 1;
      } else {
        std::vector<int> b(9);
        row_bounds(upsample_mode::csr, p.seq_len, 8, b.data());
        double norm = 0;
        for (int bin = 0; bin < 8; ++bin) {
          double w = 0;
          for (int e = 0; e < p.seq_len; ++e) w += ahat[(static_cast<std::size_t>(h) * p.seq_len + e) * 8 + bin];
          w /= p.seq_len;
          for (int j = b[bin]; j < b[bin + 1]; ++j) {
            avg += w * in.v[(static_cast<std::size_t>(h) * p.seq_len + j) * d + x];
            norm += w;
          }
        }
        avg /= norm;
      }
      const std::size_t e = (static_cast<std::size_t>(h) * p.seq_len + t) * d + x;
      CHECK(mixed.out[e] == Approx(s1 * s0 * sparse.out[e] + (1 - s1) * avg).epsilon(1e-4).margin(1e-5));
    }
    std::remove(path.c_str());
  }
}
