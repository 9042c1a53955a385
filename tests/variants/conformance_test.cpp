// The conformance suite: properties every registered variant must have, checked automatically for
// current and future variants (names starting "test_" are test fixtures and are skipped).
//   - finite output; same seed → identical output; different seed → different output (randomized)
//   - exact_setting() reproduces exact attention (fp64 reference, rel_err < 1e-5)
//   - error falls along budget_ladder() (seed-averaged)
//   - causal: changing K/V after position i never changes rows ≤ i (within causal_canary_rel_tol)
//   - exposed supports are well-formed (sorted, unique, in range, no future keys when causal)
//   - the analytic memory model matches the tracked peak within 10%
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"
#include "harness/metrics/accuracy.hpp"
#include "harness/metrics/exact_reference.hpp"

using namespace sb;

namespace {

struct inputs {
  std::vector<float> q, k, v;
};

inputs gaussian_inputs(const problem& p, std::uint64_t seed) {
  inputs in;
  for (auto [buf, stream] : {std::pair{&in.q, rng_stream::dataset_q}, std::pair{&in.k, rng_stream::dataset_k},
                             std::pair{&in.v, rng_stream::dataset_v}}) {
    counter_rng rng(seed, stream);
    buf->resize(p.qkv_elements());
    for (auto& x : *buf) x = static_cast<float>(rng.normal());
  }
  return in;
}

std::vector<const attention_variant*> variants_under_test() {
  std::vector<const attention_variant*> out;
  for (const auto* v : variant_registry::instance().all())
    if (!v->name().starts_with("test_") && v->caps().cpu) out.push_back(v);
  return out;
}

/// The variant's defaults with `overrides` applied; k from the setting or the fallback.
std::pair<problem, param_set> configure(const attention_variant& v, problem p, const budget_setting& s,
                                        std::optional<int> fallback_k) {
  param_set params = v.parameters().resolve(std::string(v.name()), s.params);
  if (v.caps().uses_k == k_usage::none) p.k.reset();
  else p.k = s.k ? s.k : fallback_k;
  return {p, params};
}

struct run_output {
  bool ran = false;
  std::string skip_reason;
  std::vector<float> out;
  attention_support support;
  std::size_t tracked_peak = 0;
};

run_output run_once(const attention_variant& v, const problem& p, const param_set& params, const inputs& in,
                    bool want_support = false) {
  run_output r;
  if (auto reason = unsupported_reason(v, p, params, device_kind::cpu)) {
    r.skip_reason = *reason;
    return r;
  }
  try {
    auto instance = v.instantiate(p, params, device_kind::cpu);
    auto& tracker = memory_tracker::instance();
    const std::size_t before = tracker.current_bytes();
    tracker.reset_peak();
    tracked_buffer<float> out(p.qkv_elements());
    run_context ctx;
    if (want_support && v.caps().exposes_support) ctx.support = &r.support;
    instance->run({in.q.data(), in.k.data(), in.v.data()}, out.data(), ctx);
    r.tracked_peak = tracker.peak_bytes() - before;
    r.out.assign(out.data(), out.data() + out.size());
    r.ran = true;
  } catch (const unsupported_case& e) {
    r.skip_reason = e.what();
  }
  return r;
}

double rel_err_vs_exact(const problem& p, const inputs& in, const std::vector<float>& out) {
  std::vector<std::int64_t> rows(p.rows());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i);
  const auto ref = exact_reference(p, in.q.data(), in.k.data(), in.v.data(), rows, 1);
  return compute_accuracy(p, in.q.data(), in.k.data(), in.v.data(), out.data(), ref, nullptr, 1).rel_err;
}

problem small_problem(bool causal, int t = 67) {
  problem p;
  p.batch = 1;
  p.heads = 2;
  p.seq_len = t;  // prime: not a multiple of any block, chunk or bucket size
  p.head_dim = 16;
  p.causal = causal;
  return p;
}

std::vector<bool> causal_modes(const attention_variant& v) {
  std::vector<bool> modes;
  if (v.caps().non_causal) modes.push_back(false);
  if (v.caps().causal) modes.push_back(true);
  return modes;
}

}  // namespace

TEST_CASE("conformance: finite, deterministic output and well-formed supports", "[conformance]") {
  for (const auto* v : variants_under_test()) {
    for (bool causal : causal_modes(*v)) {
      INFO(v->name() << (causal ? " causal" : " non-causal"));
      auto [p, params] = configure(*v, small_problem(causal), {}, 8);
      const inputs in = gaussian_inputs(p, 1);
      const run_output a = run_once(*v, p, params, in, true);
      INFO("skip reason: " << a.skip_reason);
      REQUIRE(a.ran);
      for (float x : a.out) REQUIRE(std::isfinite(x));
      const run_output b = run_once(*v, p, params, in);
      CHECK(std::memcmp(a.out.data(), b.out.data(), a.out.size() * sizeof(float)) == 0);
      const flop_count f = v->flops(p, params);
      CHECK(f.dense_equiv > 0);
      CHECK(f.executed > 0);
      if (v->caps().exposes_support) {
        const auto& s = a.support;
        REQUIRE(s.rows() == p.rows());
        for (std::size_t r = 0; r < s.rows(); ++r) {
          const auto i = static_cast<std::int32_t>(r % p.seq_len);
          for (auto e = s.row_ptr[r]; e < s.row_ptr[r + 1]; ++e) {
            REQUIRE(s.cols[e] >= 0);
            REQUIRE(s.cols[e] < p.seq_len);
            if (e > s.row_ptr[r]) REQUIRE(s.cols[e - 1] < s.cols[e]);
            if (causal) REQUIRE(s.cols[e] <= i);
          }
        }
      }
    }
  }
}

TEST_CASE("conformance: randomized variants draw different random parts for different seeds", "[conformance]") {
  for (const auto* v : variants_under_test()) {
    if (!v->caps().randomized) continue;
    INFO(v->name());
    auto [p, params] = configure(*v, small_problem(!v->caps().non_causal, 1024), {}, 16);
    const inputs in = gaussian_inputs(p, 1);
    p.seed = 0;
    const run_output a = run_once(*v, p, params, in);
    p.seed = 1;
    const run_output b = run_once(*v, p, params, in);
    REQUIRE(a.ran);
    REQUIRE(b.ran);
    CHECK(std::memcmp(a.out.data(), b.out.data(), a.out.size() * sizeof(float)) != 0);
  }
}

TEST_CASE("conformance: the exact setting reproduces exact attention", "[conformance]") {
  for (const auto* v : variants_under_test()) {
    for (bool causal : causal_modes(*v)) {
      const problem base = small_problem(causal);
      const auto setting = v->exact_setting(base);
      if (!setting) continue;
      INFO(v->name() << (causal ? " causal" : " non-causal"));
      auto [p, params] = configure(*v, base, *setting, base.seq_len);
      const inputs in = gaussian_inputs(p, 2);
      const run_output r = run_once(*v, p, params, in);
      INFO("skip reason: " << r.skip_reason);
      REQUIRE(r.ran);
      CHECK(rel_err_vs_exact(p, in, r.out) < 1e-5);
    }
  }
}

TEST_CASE("conformance: error falls as the budget grows", "[conformance]") {
  for (const auto* v : variants_under_test()) {
    for (bool causal : causal_modes(*v)) {
      const problem base = small_problem(causal, 256);
      const auto ladder = v->budget_ladder(base);
      if (ladder.empty()) continue;
      INFO(v->name() << (causal ? " causal" : " non-causal"));
      std::vector<double> mean_err;
      for (const auto& setting : ladder) {
        double sum = 0;
        constexpr int seeds = 4;
        for (int seed = 0; seed < seeds; ++seed) {
          auto [p, params] = configure(*v, base, setting, 16);
          p.seed = seed;
          const inputs in = gaussian_inputs(p, 100 + seed);
          const run_output r = run_once(*v, p, params, in);
          INFO("skip reason: " << r.skip_reason);
          REQUIRE(r.ran);
          sum += rel_err_vs_exact(p, in, r.out);
        }
        mean_err.push_back(sum / seeds);
      }
      INFO("seed-averaged rel_err along the ladder: " << fmt::format("{}", fmt::join(mean_err, ", ")));
      CHECK(mean_err.back() < mean_err.front());
      for (std::size_t i = 1; i < mean_err.size(); ++i) CHECK(mean_err[i] <= mean_err[i - 1] * 1.1);
    }
  }
}

TEST_CASE("conformance: causal variants never see the future", "[conformance]") {
  for (const auto* v : variants_under_test()) {
    if (!v->caps().causal) continue;
    INFO(v->name());
    auto [p, params] = configure(*v, small_problem(true), {}, 8);
    const inputs in = gaussian_inputs(p, 3);
    const run_output base = run_once(*v, p, params, in);
    REQUIRE(base.ran);
    for (int cut : {0, p.seq_len / 3, p.seq_len - 2}) {
      inputs changed = in;
      counter_rng rng(99, rng_stream::dataset_aux);
      for (std::size_t bh = 0; bh < static_cast<std::size_t>(p.batch * p.heads); ++bh)
        for (int j = cut + 1; j < p.seq_len; ++j)
          for (int c = 0; c < p.head_dim; ++c) {
            const std::size_t e = (bh * p.seq_len + j) * p.head_dim + c;
            changed.k[e] = static_cast<float>(3 * rng.normal());
            changed.v[e] = static_cast<float>(3 * rng.normal());
          }
      const run_output after = run_once(*v, p, params, changed);
      REQUIRE(after.ran);
      const double tol = v->caps().causal_canary_rel_tol;
      for (std::size_t bh = 0; bh < static_cast<std::size_t>(p.batch * p.heads); ++bh)
        for (int i = 0; i <= cut; ++i)
          for (int c = 0; c < p.head_dim; ++c) {
            const std::size_t e = (bh * p.seq_len + i) * p.head_dim + c;
            INFO("row " << i << " changed when keys after " << cut << " changed");
            if (tol == 0) REQUIRE(after.out[e] == base.out[e]);
            else REQUIRE(std::abs(after.out[e] - base.out[e]) <= tol * (std::abs(base.out[e]) + 1e-3));
          }
    }
  }
}

TEST_CASE("conformance: analytic memory matches the tracked peak within 10%", "[conformance]") {
  for (const auto* v : variants_under_test()) {
    for (bool causal : causal_modes(*v)) {
      INFO(v->name() << (causal ? " causal" : " non-causal"));
      problem base = small_problem(causal, 1024);
      base.head_dim = 32;
      auto [p, params] = configure(*v, base, {}, 32);
      const inputs in = gaussian_inputs(p, 4);
      const run_output r = run_once(*v, p, params, in);
      REQUIRE(r.ran);
      const double analytic = static_cast<double>(v->analytic_memory_bytes(p, params));
      INFO("tracked " << r.tracked_peak << " bytes, analytic " << analytic << " bytes");
      CHECK(std::abs(static_cast<double>(r.tracked_peak) / analytic - 1) < 0.10);
    }
  }
}
