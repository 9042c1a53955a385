// Perplexity over non-overlapping windows: the window protocol, and the fixture's held-out loss.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>

#include "harness/core/variant.hpp"
#include "harness/io/npy.hpp"
#include "harness/model/opt_model.hpp"
#include "harness/model/perplexity.hpp"
#include "tests/model/model_test_util.hpp"

using namespace sb;
using namespace sb::model;

TEST_CASE("model: windows are non-overlapping, drop the tail and stop at max_windows", "[model]") {
  std::vector<std::int32_t> ids(23);
  for (int i = 0; i < 23; ++i) ids[static_cast<std::size_t>(i)] = i;
  const auto all = non_overlapping_windows(ids, 5, 0);
  REQUIRE(all.size() == 4);  // 20 tokens used, the last 3 dropped
  CHECK(all[1].front() == 5);
  CHECK(all[3].back() == 19);
  CHECK(non_overlapping_windows(ids, 5, 2).size() == 2);
  CHECK(non_overlapping_windows(ids, 23, 0).size() == 1);
}

TEST_CASE("model: the loss is the mean over the T-1 predictions of each window", "[model]") {
  model_test::temp_dir dir("ppl");
  const auto cfg = model_test::tiny_config();
  model_test::write_checkpoint(dir.path, cfg, model_test::tiny_weights(cfg, "model.decoder."));
  const opt_model m = load_opt_checkpoint(dir.path.string());
  std::vector<std::int32_t> ids(50);
  for (int i = 0; i < 50; ++i) ids[static_cast<std::size_t>(i)] = (i * 13 + 5) % 40;
  const int T = 16;
  const auto r = evaluate_perplexity(m, ids, T, 0, {});
  CHECK(r.windows == 3);
  CHECK(r.tokens == 3 * (T - 1));
  CHECK(r.window_ms.size() == 3);
  CHECK(r.peak_bytes > 0);
  // Recompute from full logits: −log softmax(logits[t])[ids[t+1]] summed over t < T−1, each window fresh.
  opt_forward fwd(m, T, {});
  double expect = 0;
  for (int w = 0; w < 3; ++w) {
    const std::span<const std::int32_t> win(ids.data() + w * T, T);
    const auto logits = fwd.logits(win);
    for (int t = 0; t + 1 < T; ++t) {
      const float* row = logits.data() + static_cast<std::size_t>(t) * 40;
      double mx = row[0], sum = 0;
      for (int v = 0; v < 40; ++v) mx = std::max(mx, static_cast<double>(row[v]));
      for (int v = 0; v < 40; ++v) sum += std::exp(row[v] - mx);
      expect += std::log(sum) + mx - row[win[static_cast<std::size_t>(t + 1)]];
    }
  }
  CHECK(r.nll_sum == Approx(expect).epsilon(1e-6));
  CHECK(r.nll() == Approx(expect / (3 * (T - 1))).epsilon(1e-6));
  CHECK(r.ppl() == Approx(std::exp(r.nll())));
}

TEST_CASE("model: the loss of the first 512 tokens matches the one the reference logits give", "[model]") {
  if (!model_test::fixture_present()) {
    WARN("skipped: " << model_test::fixture_dir().string() << " is not present");
    return;
  }
  const opt_model m = load_opt_checkpoint(model_test::fixture_dir().string());
  const auto ids = load_token_ids(model_test::brown_val().string(), "byte+4");
  const auto ref = read_npy_f32(model_test::fixture_dir() / "ref_logits_val512.npy");
  const int T = 512, V = m.config.vocab_size;
  REQUIRE(ref.size() == static_cast<std::size_t>(T) * V);
  double expect = 0;
  for (int t = 0; t + 1 < T; ++t) {
    const float* row = ref.data() + static_cast<std::size_t>(t) * V;
    double mx = row[0], sum = 0;
    for (int v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(row[v]));
    for (int v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
    expect += std::log(sum) + mx - row[ids[static_cast<std::size_t>(t + 1)]];
  }
  const auto r = evaluate_perplexity(m, std::span<const std::int32_t>(ids.data(), T), T, 0, {});
  REQUIRE(r.windows == 1);
  CHECK(r.nll() == Approx(expect / (T - 1)).margin(1e-5));
}

// The whole of brown/val.txt takes about 2 CPU-minutes (5.5 min wall on the shared 2-core VM), too long
// for every CI run: set SEABENCH_SLOW_TESTS=1 to run it. Its result is checked in under
// results/reference/model/.
TEST_CASE("model: dense held-out loss over all of brown/val.txt is 1.1865 nats/byte", "[model][slow]") {
  if (!std::getenv("SEABENCH_SLOW_TESTS")) {
    // The marker makes CTest report the test as Skipped, not Passed (CMakeLists.txt).
    WARN("SKIP-SLOW: set SEABENCH_SLOW_TESTS=1 to evaluate all 292 windows of brown/val.txt");
    return;
  }
  if (!model_test::fixture_present()) {
    WARN("skipped: " << model_test::fixture_dir().string() << " is not present");
    return;
  }
  const opt_model m = load_opt_checkpoint(model_test::fixture_dir().string());
  const auto ids = load_token_ids(model_test::brown_val().string(), "byte+4");
  const auto start = std::chrono::steady_clock::now();
  const auto r = evaluate_perplexity(m, ids, 2048, 0, {});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("nll = " << r.nll() << " nats/byte over " << r.windows << " windows in " << s << " s");
  WARN("dense val loss " << r.nll() << " nats/byte, " << r.windows << " windows, " << s << " s");
  CHECK(r.windows == 292);
  CHECK(r.tokens == 292 * 2047);
  CHECK(std::abs(r.nll() - 1.1865) <= 0.002);
}
