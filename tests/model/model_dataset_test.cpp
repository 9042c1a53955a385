// The `model` dataset: real Q, K, V of a checkpoint's layer, equal to capture_qkv, with checks that
// name the mismatch.
#include <catch2/catch.hpp>

#include "harness/core/dataset.hpp"
#include "harness/core/errors.hpp"
#include "harness/model/opt_model.hpp"
#include "tests/model/model_test_util.hpp"
#include "tests/support/test_support.hpp"

using namespace sb;
using Catch::Contains;

namespace {
problem shape(int heads, int T, int D) {
  problem p;
  p.heads = heads;
  p.seq_len = T;
  p.head_dim = D;
  p.causal = true;
  return p;
}
}  // namespace

TEST_CASE("model dataset: layers expand, labels, checks and loads equal capture_qkv", "[model][datasets]") {
  test::temp_dir dir;
  const auto cfg = model_test::tiny_config(260, 16, 3, 2, 32, 64);
  model_test::write_checkpoint(dir / "ckpt", cfg, model_test::tiny_weights(cfg, "model.decoder."));
  test::write_text(dir / "text.txt", std::string(200, 'a') + "bcdefghijklmnopqrstuvwxyz0123456789");
  const dataset_source* ds = dataset_registry::instance().find("model");
  REQUIRE(ds != nullptr);
  const nlohmann::json entry = {{"kind", "model"}, {"checkpoint", "ckpt"}, {"text", "text.txt"}, {"layer", {0, 2}},
                                {"window_index", 1}};
  const auto points = ds->expand(entry, dir.path());
  REQUIRE(points.size() == 2);
  CHECK(ds->label(points[1]) == "model:ckpt:layer=2:window=1");

  CHECK_FALSE(ds->check(points[1], shape(2, 32, 8)));
  CHECK_THAT(*ds->check(points[1], shape(4, 32, 8)), Contains("2 attention heads") && Contains("heads = 4"));
  CHECK_THAT(*ds->check(points[1], shape(2, 32, 4)), Contains("head_dim 8"));
  CHECK_THAT(*ds->check(points[1], shape(2, 200, 8)), Contains("235 tokens") && Contains("starting at token 200"));

  const qkv_host x = ds->load(points[1], shape(2, 32, 8));
  const auto m = model::load_opt_checkpoint((dir / "ckpt").string());
  const auto ids = model::load_token_ids((dir / "text.txt").string(), "byte+4");
  const auto cap = model::capture_qkv(m, std::span<const std::int32_t>(ids.data() + 32, 32), {2});
  CHECK(x.q == cap[0].q);
  CHECK(x.k == cap[0].k);
  CHECK(x.v == cap[0].v);
  // A different layer gives different inputs.
  CHECK(ds->load(points[0], shape(2, 32, 8)).q != x.q);

  SECTION("offset picks the first token") {
    auto e = entry;
    e.erase("window_index");
    e["offset"] = 32;
    e["layer"] = 2;
    const auto p = ds->expand(e, dir.path()).at(0);
    CHECK(ds->label(p) == "model:ckpt:layer=2:offset=32");
    CHECK(ds->load(p, shape(2, 32, 8)).q == x.q);
  }
  SECTION("bad options are config errors naming the option") {
    auto e = entry;
    e["layer"] = 3;
    CHECK_THROWS_WITH(ds->expand(e, dir.path()), Contains("layer = 3") && Contains("0 .. 2"));
    e = entry;
    e["colour"] = 1;
    CHECK_THROWS_WITH(ds->expand(e, dir.path()), Contains("colour"));
    e = entry;
    e["offset"] = 3;
    CHECK_THROWS_WITH(ds->expand(e, dir.path()), Contains("not both"));
    e = entry;
    e["checkpoint"] = "absent";
    CHECK_THROWS_AS(ds->expand(e, dir.path()), config_error);
    e = entry;
    e.erase("layer");
    CHECK_THROWS_WITH(ds->expand(e, dir.path()), Contains("layer"));
  }
}
