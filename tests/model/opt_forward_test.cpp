// The OPT forward pass: the fixture's reference logits, the 1/sqrt(d) scale applied exactly once,
// causality, and exact variants reproducing exact attention.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "harness/core/variant.hpp"
#include "harness/io/npy.hpp"
#include "harness/model/opt_forward.hpp"
#include "harness/model/opt_model.hpp"
#include "tests/model/model_test_util.hpp"

using namespace sb;
using namespace sb::model;

namespace {

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(static_cast<double>(a[i]) - b[i]));
  return d;
}

std::vector<std::int32_t> some_ids(int n, int vocab, unsigned salt = 0) {
  std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i * 7 + 3 + salt * i * i) % vocab);
  return ids;
}

/// A loaded synthetic checkpoint (2 layers, 2 heads of 8).
struct tiny_model {
  model_test::temp_dir dir{"fwd"};
  opt_model m;
  explicit tiny_model(const std::string& prefix = "model.decoder.") {
    const auto cfg = model_test::tiny_config();
    model_test::write_checkpoint(dir.path, cfg, model_test::tiny_weights(cfg, prefix));
    m = load_opt_checkpoint(dir.path.string());
  }
};

}  // namespace

TEST_CASE("model: logits of the first 512 tokens of brown/val.txt match the reference", "[model]") {
  if (!model_test::fixture_present()) {
    WARN("skipped: " << model_test::fixture_dir().string() << " is not present");
    return;
  }
  const opt_model m = load_opt_checkpoint(model_test::fixture_dir().string());
  CHECK(m.config.num_layers == 4);
  CHECK(m.config.head_dim() == 64);
  CHECK(m.lm_head.empty());  // tied head
  const auto ids = load_token_ids(model_test::brown_val().string(), "byte+4");
  REQUIRE(ids.size() >= 512);
  const std::span<const std::int32_t> window(ids.data(), 512);
  opt_forward fwd(m, 512, attention_plan{});
  const auto logits = fwd.logits(window);
  const auto ref = read_npy_f32(model_test::fixture_dir() / "ref_logits_val512.npy");
  REQUIRE(ref.size() == logits.size());
  const double diff = max_abs_diff(logits, ref);
  INFO("max |logits - reference| = " << diff);
  CHECK(diff <= 2e-4);

  SECTION("the dense variant in every layer gives the same logits") {
    attention_plan plan;
    plan.variant = variant_registry::instance().find("dense");
    REQUIRE(plan.variant != nullptr);
    opt_forward with_dense(m, 512, plan);
    CHECK(max_abs_diff(with_dense.logits(window), ref) <= 2e-4);
  }
}

TEST_CASE("model: captured queries are unscaled (x·Wqᵀ + b) and the variant applies 1/sqrt(d) once", "[model]") {
  tiny_model t;
  const opt_config& c = t.m.config;
  const int T = 12, C = c.hidden_size, H = c.num_heads, D = c.head_dim();
  const auto ids = some_ids(T, c.vocab_size);
  const auto cap = capture_qkv(t.m, ids, {0});
  REQUIRE(cap.size() == 1);
  CHECK(cap[0].heads == H);
  CHECK(cap[0].seq_len == T);
  CHECK(cap[0].head_dim == D);
  // Layer 0's input is LayerNorm(token + position embedding); recompute q in double.
  const opt_layer& L = t.m.layers[0];
  double worst = 0;
  for (int i = 0; i < T; ++i) {
    std::vector<double> x(static_cast<std::size_t>(C));
    for (int j = 0; j < C; ++j)
      x[j] = t.m.embed_tokens[static_cast<std::size_t>(ids[i]) * C + j] +
             t.m.embed_positions[static_cast<std::size_t>(i + position_offset) * C + j];
    double mean = 0, var = 0;
    for (double v : x) mean += v;
    mean /= C;
    for (double v : x) var += (v - mean) * (v - mean);
    var /= C;
    for (int j = 0; j < C; ++j) x[j] = (x[j] - mean) / std::sqrt(var + 1e-5) * L.attn_ln_weight[j] + L.attn_ln_bias[j];
    for (int o = 0; o < C; ++o) {
      double q = L.q_bias[o];
      for (int j = 0; j < C; ++j) q += x[j] * L.q_weight[static_cast<std::size_t>(o) * C + j];
      const int h = o / D, d = o % D;
      worst = std::max(worst, std::abs(q - cap[0].q[(static_cast<std::size_t>(h) * T + i) * D + d]));
    }
  }
  CHECK(worst < 1e-4);

  // Exact attention inside the forward equals softmax(q·kᵀ/sqrt(D))·v on the captured inputs: the scale
  // is applied once (twice or never would move these outputs by O(1)).
  std::vector<float> out(cap[0].q.size());
  exact_causal_attention(H, T, D, cap[0].q.data(), cap[0].k.data(), cap[0].v.data(), out.data());
  for (int h = 0; h < H; ++h)
    for (int i = 0; i < T; i += 5) {
      std::vector<double> w(static_cast<std::size_t>(i + 1));
      double mx = -1e300, sum = 0;
      for (int j = 0; j <= i; ++j) {
        double s = 0;
        for (int d = 0; d < D; ++d)
          s += cap[0].q[(static_cast<std::size_t>(h) * T + i) * D + d] * cap[0].k[(static_cast<std::size_t>(h) * T + j) * D + d];
        w[j] = s / std::sqrt(static_cast<double>(D));
        mx = std::max(mx, w[j]);
      }
      for (auto& x : w) sum += (x = std::exp(x - mx));
      for (int d = 0; d < D; ++d) {
        double o = 0;
        for (int j = 0; j <= i; ++j) o += w[j] / sum * cap[0].v[(static_cast<std::size_t>(h) * T + j) * D + d];
        CHECK(out[(static_cast<std::size_t>(h) * T + i) * D + d] == Approx(o).margin(1e-5));
      }
    }
}

TEST_CASE("model: changing future tokens does not change earlier logits", "[model]") {
  tiny_model t;
  const int T = 40, cut = 17, V = t.m.config.vocab_size;
  auto a = some_ids(T, V), b = a;
  for (int i = cut + 1; i < T; ++i) b[static_cast<std::size_t>(i)] = (b[static_cast<std::size_t>(i)] + 11) % V;
  for (const char* variant : {"", "dense", "window"}) {
    INFO("variant: " << (*variant ? variant : "exact"));
    attention_plan plan;
    if (*variant) plan.variant = variant_registry::instance().find(variant);
    plan.k = 8;
    opt_forward fwd(t.m, T, plan);
    const auto la = fwd.logits(a), lb = fwd.logits(b);
    double before = 0, after = 0;
    for (int i = 0; i < T; ++i)
      for (int v = 0; v < V; ++v) {
        const double d = std::abs(la[static_cast<std::size_t>(i) * V + v] - lb[static_cast<std::size_t>(i) * V + v]);
        (i <= cut ? before : after) = std::max(i <= cut ? before : after, d);
      }
    CHECK(before <= 1e-6);
    CHECK(after > 1e-3);  // the change is visible where it should be
  }
}

TEST_CASE("model: variants at an exact setting reproduce exact attention's logits", "[model]") {
  tiny_model t;
  const int T = 48;
  const auto ids = some_ids(T, t.m.config.vocab_size, 1);
  opt_forward exact(t.m, T, attention_plan{});
  const auto ref = exact.logits(ids);
  for (const char* name : {"dense", "window", "oracle_topk"}) {
    INFO("variant " << name);
    const attention_variant* v = variant_registry::instance().find(name);
    REQUIRE(v != nullptr);
    const problem p = layer_problem(t.m.config, T, std::nullopt, 0);
    const auto setting = v->exact_setting(p);
    REQUIRE(setting.has_value());
    attention_plan plan;
    plan.variant = v;
    plan.params = v->parameters().resolve(name, setting->params);
    plan.k = setting->k;
    opt_forward fwd(t.m, T, plan);
    CHECK(max_abs_diff(fwd.logits(ids), ref) <= 2e-5);
  }
  SECTION("an approximate variant on a subset of layers changes the logits, and only those layers use it") {
    attention_plan plan;
    plan.variant = variant_registry::instance().find("window");
    plan.k = 2;
    plan.layers = {1};
    opt_forward fwd(t.m, T, plan);
    CHECK_FALSE(fwd.uses_variant(0));
    CHECK(fwd.uses_variant(1));
    CHECK(max_abs_diff(fwd.logits(ids), ref) > 1e-3);
  }
}

TEST_CASE("model: per-layer seeds and {layer} substitution", "[model]") {
  CHECK(layer_seed(0, 0) != layer_seed(0, 1));
  CHECK(layer_seed(0, 1) != layer_seed(1, 1));
  CHECK(layer_seed(5, 3) == layer_seed(5, 3));
  param_set p({{"weights", std::string("w/layer{layer}.safetensors")}, {"n", std::int64_t{3}}});
  const param_set q = params_for_layer(p, 2);
  CHECK(q.get_text("weights") == "w/layer2.safetensors");
  CHECK(q.get_int("n") == 3);
}

TEST_CASE("model: checkpoints named without the model. prefix load the same", "[model]") {
  tiny_model a("model.decoder."), b("decoder.");
  const auto ids = some_ids(20, a.m.config.vocab_size);
  opt_forward fa(a.m, 20, attention_plan{}), fb(b.m, 20, attention_plan{});
  CHECK(max_abs_diff(fa.logits(ids), fb.logits(ids)) == 0.0);
}
