// model-eval rows carry the variant's extra columns and keys_per_query as means over every
// attention call of the case (windows × variant layers), as `seabench run` writes them per call.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "harness/core/variant.hpp"
#include "harness/model/eval_case.hpp"
#include "harness/model/opt_model.hpp"
#include "tests/model/model_test_util.hpp"

using namespace sb;
using namespace sb::model;

namespace {

case_spec case_for(const std::string& variant, int k) {
  case_spec c;
  c.variant = variant;
  c.prob.k = k;
  c.prob.seed = 3;
  c.measure.threads = 1;
  return c;
}

}  // namespace

TEST_CASE("model-eval: rows carry keys_per_query and the variant's extras, averaged over windows x layers",
          "[model][model-extras]") {
  model_test::temp_dir dir("extras");
  const auto cfg = model_test::tiny_config(/*V=*/40, /*C=*/16, /*L=*/2, /*H=*/2, /*F=*/32, /*P=*/64);
  model_test::write_checkpoint(dir.path, cfg, model_test::tiny_weights(cfg, "model.decoder."));
  const opt_model m = load_opt_checkpoint(dir.path.string());
  std::vector<std::int32_t> ids(3 * 40);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>((i * 7 + 3) % 40);
  model_section section;
  section.seq_len = 40;  // three windows through both layers: six variant calls per case

  // Causal window of k keys: query i attends min(k, i + 1) keys.
  const int T = section.seq_len, k = 16;
  double expected = 0;
  for (int i = 0; i < T; ++i) expected += std::min(k, i + 1);
  expected /= T;

  const auto window = evaluate_case(m, ids, section, case_for("window", k));
  REQUIRE(window["status"] == "ok");
  REQUIRE(window["windows"] == 3);
  REQUIRE(window.contains("keys_per_query"));
  CHECK(window["keys_per_query"].get<double>() == Approx(expected).epsilon(1e-12));

  section.layers = {1};  // the variant in one layer only: the mean covers that layer's calls
  const auto one_layer = evaluate_case(m, ids, section, case_for("window", 4));
  REQUIRE(one_layer["status"] == "ok");
  CHECK(one_layer["keys_per_query"].get<double>() == Approx((1 + 2 + 3 + 4.0 * (T - 3)) / T).epsilon(1e-12));

  section.layers = {};
  const auto sea = evaluate_case(m, ids, section, case_for("sea", k));
  REQUIRE(sea["status"] == "ok");
  const attention_variant* v = variant_registry::instance().find("sea");
  REQUIRE(v);
  for (const auto& name : v->extra_columns()) {
    INFO(name);
    CHECK(sea.contains(name));  // sea_oracle_cell_mass too: model-eval lists the support of every call
  }
  CHECK(sea.contains("keys_per_query"));
  REQUIRE(sea.contains("sea_keys_per_query_mean"));
  const double sea_keys = sea["sea_keys_per_query_mean"].get<double>();
  CHECK(sea_keys > 0);
  CHECK(sea_keys <= (T + 1) / 2.0);  // never more than every visible key
  CHECK(sea["sea_keys_per_query_max"].get<double>() >= sea_keys);
}
