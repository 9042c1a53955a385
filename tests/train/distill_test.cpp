// SEA estimator distillation: the trainable estimator's forward equals the inference estimator's, its
// backward matches finite differences through the whole estimator, training is deterministic and a
// resumed run continues identically, and distilled weights refuse output = mix.
#include <catch2/catch.hpp>

#include <filesystem>
#include <algorithm>
#include <string>
#include <vector>

#include "attention_variants/sea/distill_estimator.hpp"
#include "attention_variants/sea/distill_teacher.hpp"
#include "attention_variants/sea/distill_trainer.hpp"
#include "attention_variants/sea/estimators.hpp"
#include "attention_variants/sea/learned_estimator.hpp"
#include "attention_variants/sea/pipeline.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/rng.hpp"
#include "harness/io/safetensors.hpp"
#include "harness/train/grad_check.hpp"
#include "tests/variants/sea_test_util.hpp"

namespace {

using namespace sb;
namespace distill = sb::sea::distill;

std::size_t sz(long long x) { return static_cast<std::size_t>(x); }

sea::config learned_config(const problem& p, int K, const std::string& output = "sparse",
                           const std::string& weights = "") {
  return sea::make_config(p, sea_test::params_with({{"estimator", std::string("performer")},
                                                    {"K", static_cast<std::int64_t>(K)},
                                                    {"nbf", static_cast<std::int64_t>(2)},
                                                    {"upsample", std::string("nearest")},
                                                    {"output", output},
                                                    {"weights", weights}}));
}

distill::window_qkv window_of(const problem& p, std::uint64_t seed, double q_scale = 2.0) {
  const auto in = sea_test::random_inputs(p, seed, q_scale);
  return {in.q, in.k, in.v};
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("seabench_distill_test_" + name)).string();
}

}  // namespace

TEST_CASE("distill estimator: forward gives the inference estimator's exact Â (causal and non-causal)", "[train]") {
  for (const bool causal : {true, false}) {
    DYNAMIC_SECTION((causal ? "causal" : "non-causal")) {
      problem p = sea_test::make_problem(40, causal, 8, 2, 16);
      p.seed = 7;
      const sea::config c = learned_config(p, 16);
      const sea::performer_weights w = sea::random_performer_weights(p, c);
      const auto win = window_of(p, 3);
      distill::trainable_estimator est(p, c);
      std::vector<float> mine(sz(p.heads) * p.seq_len * c.K), ref(mine.size());
      est.forward(win.view(), w, mine.data());
      for (std::size_t r = 0; r < mine.size(); r += sz(c.K)) sea::softmax_row(mine.data() + r, c.K);
      sea::make_estimator(p, c)->estimate(win.view(), ref.data(), nullptr);  // same seed → same random weights
      REQUIRE(mine == ref);
    }
  }
}

TEST_CASE("distill estimator: backward through the whole estimator matches finite differences", "[train]") {
  // Loss Σ r·Ŝ for a random r (so ∂L/∂Ŝ = r, gradients of order one and fp32 rounding well below the
  // finite-difference signal); the attention loss's own gradient is checked in layers_test.cpp.
  for (const bool causal : {true, false}) {
    DYNAMIC_SECTION((causal ? "causal" : "non-causal")) {
      problem p = sea_test::make_problem(24, causal, 4, 2, 8);
      p.seed = 11;
      const sea::config c = learned_config(p, 32);  // causal LayerNorm(K/4) over 8 columns, not a degenerate 2
      sea::performer_weights w = sea::random_performer_weights(p, c);
      if (causal) {
        w.position_rows = 30;  // fewer rows than the table's default, still ≥ T: row t uses P[t]
        w.position_table.resize(sz(30) * p.head_dim);
      }
      const auto win = window_of(p, 5);
      distill::trainable_estimator est(p, c);
      std::vector<float> scores(sz(p.heads) * p.seq_len * c.K), r(scores.size());
      counter_rng rng(99, rng_stream::metrics_rows);
      for (auto& x : r) x = static_cast<float>(rng.normal());
      auto loss = [&] {
        est.forward(win.view(), w, scores.data());
        double s = 0;
        for (std::size_t i = 0; i < scores.size(); ++i) s += static_cast<double>(r[i]) * scores[i];
        return s;
      };
      loss();
      sea::performer_weights grads = distill::zeros_like(w, causal);
      est.backward(win.view(), w, r.data(), grads);
      auto params = distill::trainable_tensors(w, causal);
      auto gl = distill::trainable_tensors(grads, causal);
      REQUIRE(params.size() == gl.size());
      for (std::size_t i = 0; i < params.size(); ++i) {
        INFO("tensor " << params[i].first);
        // Per coordinate, then along the whole analytic gradient (which sums every coordinate's signal). The
        // forwards are fp32 and the CNN has ReLU kinks: a large step crosses kinks, a small one drowns in
        // rounding, so each tensor takes the best of three steps. The position table reaches Ŝ only through
        // the Performer's averages over many keys (gradients ~10x smaller): larger steps.
        const bool table = params[i].first == "position_table";
        const double steps[3] = {table ? 1e-2 : 1e-3, table ? 2e-3 : 2e-4, table ? 5e-4 : 4e-5};
        train::grad_check_result res;
        double dir = 1e300;
        res.relative_error = 1e300;
        for (const double h : steps) {
          const auto r_h = train::check_gradient(loss, *params[i].second, *gl[i].second, h, 32);
          if (r_h.relative_error < res.relative_error) res = r_h;
          dir = std::min(dir, train::check_directional(loss, *params[i].second, *gl[i].second, h));
        }
        INFO("relative error " << res.relative_error << ", error norm " << res.error_norm << ", scale " << res.scale
                               << ", directional error " << dir);
        if (causal && params[i].first == "cnn.conv3.bias") {
          // LayerNorm(K) removes a per-row constant and conv3's bias adds one: its gradient is zero.
          REQUIRE(res.scale < 1e-2);
          continue;
        }
        REQUIRE(res.scale > 1e-2);  // every other trainable tensor gets a real gradient
        REQUIRE(res.relative_error < 2e-2);
        REQUIRE(dir < 5e-3);
      }
    }
  }
}

TEST_CASE("distill trainer: fixed seed gives identical weights, resume continues identically, loss falls",
          "[train]") {
  problem p = sea_test::make_problem(32, true, 4, 2, 8);
  const sea::config c = learned_config(p, 8);
  const std::vector<distill::window_qkv> train = {window_of(p, 21), window_of(p, 22), window_of(p, 23)};
  const std::vector<distill::window_qkv> val = {window_of(p, 24)};
  distill::train_settings s;
  s.epochs = 3;
  s.seed = 5;
  s.adam.lr = 3e-3;
  auto tensors = [&](sea::performer_weights w) {
    std::vector<std::vector<float>> out;
    for (auto& [name, v] : distill::trainable_tensors(w, true)) out.push_back(*v);
    return out;
  };
  const auto a = distill::train_layer(p, c, train, val, s, 0, nullptr);
  const auto b = distill::train_layer(p, c, train, val, s, 0, nullptr);
  REQUIRE(a.finished);
  REQUIRE(a.steps == 9);
  REQUIRE(tensors(a.weights) == tensors(b.weights));
  REQUIRE(a.history.back().val_loss < a.history.front().val_loss);

  // Interrupted after 4 steps, then resumed from the checkpoint: the same weights as the straight run.
  distill::train_settings part = s;
  part.checkpoint = temp_path("resume.ckpt.safetensors");
  std::filesystem::remove(part.checkpoint);
  part.stop_after = 4;
  const auto first = distill::train_layer(p, c, train, val, part, 0, nullptr);
  REQUIRE_FALSE(first.finished);
  REQUIRE(first.steps == 4);
  part.stop_after = 0;
  part.resume = true;
  const auto rest = distill::train_layer(p, c, train, val, part, 0, nullptr);
  REQUIRE(rest.finished);
  REQUIRE(rest.steps == 9);
  REQUIRE(tensors(rest.weights) == tensors(a.weights));

  // A checkpoint written with other settings is refused.
  distill::train_settings other = part;
  other.adam.lr = 1e-2;
  REQUIRE_THROWS_AS(distill::train_layer(p, c, train, val, other, 0, nullptr), data_error);
  std::filesystem::remove(part.checkpoint);
}

TEST_CASE("distill weights: estimator=performer loads them, output=mix is refused (gates off)", "[train]") {
  problem p = sea_test::make_problem(32, true, 4, 2, 8);
  const sea::config c = learned_config(p, 8);
  distill::train_settings s;
  s.max_steps = 1;
  const auto out = distill::train_layer(p, c, {window_of(p, 31)}, {}, s, 2, nullptr);
  const std::string path = temp_path("layer2.safetensors");
  distill::write_distilled_weights(path, out.weights, p, c, s, 2, out.steps);
  const io::safetensors_file f = io::safetensors_file::load(path);
  REQUIRE(f.metadata().at("sea.gates") == "off");
  REQUIRE(f.metadata().at("sea.backbone") == "frozen");

  const sea::config sparse = learned_config(p, 8, "sparse", path);
  const auto loaded = sea::load_performer_weights(path, p, sparse);
  REQUIRE(loaded.enc_w == out.weights.enc_w);
  REQUIRE(loaded.position_table == out.weights.position_table);
  REQUIRE_NOTHROW(sea::pipeline(p, sparse));

  const sea::config mix = learned_config(p, 8, "mix", path);
  REQUIRE_THROWS_AS(sea::pipeline(p, mix), unsupported_case);
  REQUIRE_THROWS_WITH(sea::pipeline(p, mix), Catch::Contains("sea.gates"));
  std::filesystem::remove(path);
}

TEST_CASE("distill teacher: bin masses are the oracle estimator's, and the oracle's mass recall is the best",
          "[train]") {
  problem p = sea_test::make_problem(48, true, 4, 2, 8);
  const sea::config c = learned_config(p, 8);
  const auto win = window_of(p, 41);
  const auto teacher = distill::compute_teacher(p, c, win.view());
  sea::config oc = c;
  oc.estimator = sea::estimator_kind::oracle;
  std::vector<float> oracle(teacher.mass.size());
  sea::make_estimator(p, oc)->estimate(win.view(), oracle.data(), nullptr);
  REQUIRE(oracle == teacher.mass);
  sea::config hist = c;
  hist.estimator = sea::estimator_kind::performer_hist;
  const auto r = distill::estimators_recall(p, {oc, hist}, {win});
  REQUIRE(r[0] > 0.0);
  REQUIRE(r[0] <= 1.0 + 1e-6);
  REQUIRE(r[0] >= r[1]);
}
