// Host-side logic of the sparse baselines' CUDA paths, tested on the CPU: the per-pattern row plans
// window and BigBird upload (row_key_pattern), the oracles' tile planning and list copy-back, and
// the support rules sinkhorn and reformer apply to an index copied back from the device (they must
// give the CPU variants' supports).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/bigbird/bigbird_layout.hpp"
#include "attention_variants/reformer/lsh.hpp"
#include "attention_variants/reformer/reformer_cuda.hpp"
#include "attention_variants/sinkhorn/block_sort.hpp"
#include "attention_variants/sinkhorn/sinkhorn_cuda.hpp"
#include "attention_variants/sparse_common/oracle_tiles.hpp"
#include "attention_variants/sparse_common/row_key_pattern.hpp"
#include "harness/cuda/device_memory_model.hpp"
#include "harness/core/errors.hpp"
#include "tests/variants/variant_test_util.hpp"

using namespace sb;

namespace {

std::vector<std::int32_t> row_of(const attention_support& s, std::size_t r) {
  return {s.cols.begin() + s.row_ptr[r], s.cols.begin() + s.row_ptr[r + 1]};
}

/// Pattern g's row i: keys {g, g+1, …, g+i} mod 1000 sorted, so every (pattern, row) differs.
int toy_row(int g, int i, std::int32_t* buf) {
  for (int e = 0; e <= i; ++e) buf[e] = g * 100 + e;
  return i + 1;
}

}  // namespace

TEST_CASE("row_key_pattern expands 1, H or B·H patterns to every (batch, head) row", "[sparse_cuda_host]") {
  problem p;
  p.batch = 2;
  p.heads = 3;
  p.seq_len = 5;
  for (int patterns : {1, 3, 6}) {
    const auto plan = sparse::row_key_pattern::build(p.seq_len, patterns, p.seq_len, toy_row);
    REQUIRE(plan.row_ptr.size() == static_cast<std::size_t>(patterns) * p.seq_len + 1);
    attention_support s;
    plan.expand(p, s);
    REQUIRE(s.rows() == p.rows());
    for (std::size_t bh = 0; bh < 6; ++bh) {
      const int want_g = patterns == 1 ? 0 : patterns == 3 ? static_cast<int>(bh % 3) : static_cast<int>(bh);
      CHECK(plan.pattern_of(p, bh) == want_g);
      for (int i = 0; i < p.seq_len; ++i) {
        std::vector<std::int32_t> want(static_cast<std::size_t>(i) + 1);
        toy_row(want_g, i, want.data());
        CHECK(row_of(s, bh * p.seq_len + i) == want);
      }
    }
    CHECK(plan.bytes() == plan.row_ptr.size() * 8 + plan.cols.size() * 4);
  }
}

TEST_CASE("row_key_pattern rejects a pattern count or length that does not fit the problem", "[sparse_cuda_host]") {
  problem p;
  p.batch = 2;
  p.heads = 3;
  p.seq_len = 4;
  const auto two = sparse::row_key_pattern::build(4, 2, 4, toy_row);
  CHECK_THROWS_AS(two.pattern_of(p, 0), config_error);
  attention_support s;
  CHECK_THROWS_AS(two.expand(p, s), config_error);
  const auto short_plan = sparse::row_key_pattern::build(3, 1, 4, toy_row);
  CHECK_THROWS_AS(short_plan.pattern_of(p, 0), config_error);
}

TEST_CASE("bigbird's per-head plan expands to the CPU bigbird's support", "[sparse_cuda_host]") {
  for (bool causal : {false, true}) {
    const problem p = variant_test::make_problem(2, 3, 200, 16, 1, causal, 9);
    const variant_test::overrides given{{"block", std::int64_t{16}}, {"random_blocks", std::int64_t{2}}};
    const auto x = variant_test::make_inputs(p, 4);
    const auto cpu = variant_test::run_variant("bigbird", p, given, x.view(), true);
    const auto layout = bigbird::make_layout(p.seq_len, p.heads, 16, 2, causal, p.seed);
    const auto plan = sparse::row_key_pattern::build(layout.t, layout.heads, layout.max_row(),
                                                     [&](int h, int i, std::int32_t* buf) { return layout.row(h, i, buf); });
    attention_support s;
    plan.expand(p, s);
    CHECK(s.row_ptr == cpu.support.row_ptr);
    CHECK(s.cols == cpu.support.cols);
  }
}

TEST_CASE("oracle CUDA tiles stay within the score budget and cover T", "[sparse_cuda_host]") {
  for (int t : {1, 100, 8300, 100000})
    for (int bh : {1, 16}) {
      problem p;
      p.batch = 1;
      p.heads = bh;
      p.seq_len = t;
      const int rows = sparse::oracle_cuda_tile_rows(p);
      INFO("T=" << t << " B*H=" << bh << " rows=" << rows);
      CHECK(rows >= 1);
      CHECK(rows <= t);
      const std::size_t tile = static_cast<std::size_t>(rows) * bh * t * sizeof(float);
      CHECK((rows == 1 || tile <= sparse::oracle_tile_budget_bytes));
      if (rows < t) CHECK((static_cast<std::size_t>(rows) + 1) * bh * t * sizeof(float) > sparse::oracle_tile_budget_bytes);
    }
}

TEST_CASE("oracle tile lists land in their (batch, head, query) rows", "[sparse_cuda_host]") {
  problem p;
  p.batch = 2;
  p.heads = 2;
  p.seq_len = 6;
  const int q0 = 2, nq = 3;
  const std::int64_t stride = 4;
  std::vector<std::int32_t> cols(4 * nq * stride), counts(4 * nq);
  for (std::size_t l = 0; l < counts.size(); ++l) {
    counts[l] = static_cast<std::int32_t>(l % 4);
    for (int e = 0; e < stride; ++e) cols[l * stride + e] = static_cast<std::int32_t>(l * 10 + e);
  }
  std::vector<std::vector<std::int32_t>> rows(p.rows(), std::vector<std::int32_t>{-1});
  sparse::store_tile_lists(p, q0, nq, stride, cols, counts, rows);
  for (std::size_t bh = 0; bh < 4; ++bh)
    for (int i = 0; i < p.seq_len; ++i) {
      const auto& row = rows[bh * p.seq_len + i];
      if (i < q0 || i >= q0 + nq) {
        CHECK(row == std::vector<std::int32_t>{-1});  // untouched
        continue;
      }
      const std::size_t l = bh * nq + (i - q0);
      REQUIRE(row.size() == static_cast<std::size_t>(counts[l]));
      for (std::size_t e = 0; e < row.size(); ++e) CHECK(row[e] == static_cast<std::int32_t>(l * 10 + e));
    }
}

TEST_CASE("sinkhorn's support from a copied selection is the CPU's row_keys", "[sparse_cuda_host]") {
  for (bool causal : {false, true})
    for (int block : {7, 16}) {
      block_sort::config cfg;
      cfg.seq_len = 100;
      cfg.head_dim = 8;
      cfg.block = block;
      cfg.n_sorted = 2;
      cfg.causal = causal;
      cfg.scale = 1.0f / std::sqrt(8.0f);
      const auto q = variant_test::random_tensor(800, 5, 1), k = variant_test::random_tensor(800, 5, 2);
      block_sort::head_workspace ws(cfg);
      block_sort::sort_blocks(cfg, q.data(), k.data(), ws);
      std::vector<std::int32_t> want, got;
      for (int i = 0; i < cfg.seq_len; ++i) {
        block_sort::row_keys(cfg, ws, i, want);
        block_sort::row_keys_from_selection(cfg, ws.selected(i / block), i, got);
        INFO("causal=" << causal << " block=" << block << " i=" << i);
        CHECK(got == want);
      }
    }
}

TEST_CASE("reformer's support from a copied index is the CPU's row_keys", "[sparse_cuda_host]") {
  for (bool causal : {false, true})
    for (int chunk : {1, 9, 100}) {
      problem p = variant_test::make_problem(1, 1, 90, 8, chunk, causal, 2);
      const auto params = variant_test::find_variant("reformer").parameters().resolve("test", {{"n_hashes", std::int64_t{3}}});
      const lsh::config cfg = lsh::make_config(p, params, chunk);
      std::vector<float> rotations(cfg.rotation_count());
      lsh::draw_rotations(cfg, p.seed, rotations.data());
      const auto q = variant_test::random_tensor(p.qkv_elements(), 6, 1);
      lsh::head_workspace ws(cfg);
      lsh::build_index(cfg, rotations.data(), q.data(), ws);
      // The device's layout: sorted [n_hashes, T], chunk_of [T, n_hashes].
      std::vector<std::int32_t> sorted, chunk_of(static_cast<std::size_t>(cfg.seq_len) * cfg.n_hashes);
      for (int r = 0; r < cfg.n_hashes; ++r) {
        sorted.insert(sorted.end(), ws.sorted(r), ws.sorted(r) + cfg.seq_len);
        for (int pos = 0; pos < cfg.seq_len; ++pos)
          chunk_of[static_cast<std::size_t>(pos) * cfg.n_hashes + r] = ws.chunk_of(r, pos);
      }
      std::vector<std::int32_t> want, got;
      for (int i = 0; i < cfg.seq_len; ++i) {
        lsh::row_keys(cfg, ws, i, want);
        lsh::row_keys_from_index(cfg, sorted.data(), chunk_of.data(), i, got);
        INFO("causal=" << causal << " chunk=" << chunk << " i=" << i);
        CHECK(got == want);
      }
    }
}

namespace {
constexpr const char* sparse_on_cuda[] = {"window", "bigbird", "sinkhorn", "reformer", "oracle_topk",
                                          "oracle_topk_grouped"};

problem small_case(const attention_variant& v, int t) {
  problem p;
  p.batch = 2;
  p.heads = 2;
  p.seq_len = t;
  p.head_dim = 16;
  if (v.caps().uses_k != k_usage::none) p.k = 8;
  return p;
}
}  // namespace

TEST_CASE("sparse baselines run half precision only on CUDA, and advertise CUDA exactly when built with it",
          "[sparse_cuda_host]") {
  for (const char* name : sparse_on_cuda) {
    const auto* v = variant_registry::instance().find(name);
    REQUIRE(v);
    INFO(name);
    const auto params = v->parameters().resolve(name, {});
    problem p = small_case(*v, 64);
    for (dtype t : {dtype::fp16, dtype::bf16}) {
      p.type = t;
      CHECK_THROWS_AS(v->instantiate(p, params, device_kind::cpu), unsupported_case);
    }
    p.type = dtype::fp32;
    CHECK(v->instantiate(p, params, device_kind::cpu) != nullptr);
    const capabilities c = v->caps();
    const bool halves = std::find(c.dtypes.begin(), c.dtypes.end(), dtype::fp16) != c.dtypes.end() &&
                        std::find(c.dtypes.begin(), c.dtypes.end(), dtype::bf16) != c.dtypes.end();
    CHECK(c.cpu);
#ifdef SEABENCH_HAVE_CUDA
    CHECK(c.cuda);
    CHECK(halves);
#else
    CHECK_FALSE(c.cuda);
    CHECK_FALSE(halves);
    CHECK_THROWS_AS(v->instantiate(p, params, device_kind::cuda), unsupported_case);
#endif
  }
}

TEST_CASE("CUDA memory models of the sparse baselines count the output and grow linearly in T",
          "[sparse_cuda_host]") {
  // Affine in T: doubling T again adds twice as much (the oracles' capped score tile is the constant).
  for (const char* name : sparse_on_cuda) {
    const auto* v = variant_registry::instance().find(name);
    const auto params = v->parameters().resolve(name, {});
    for (dtype t : {dtype::fp32, dtype::fp16}) {
      problem p = small_case(*v, 1 << 16);
      p.type = t;
      const auto at = [&](int len) {
        problem q = p;
        q.seq_len = len;
        return static_cast<double>(cuda::cuda_analytic_memory_bytes(*v, q, params));
      };
      INFO(name << " " << to_string(t));
      CHECK(at(1 << 16) >= static_cast<double>(p.qkv_elements() * dtype_bytes(t)));
      const double growth = (at(1 << 18) - at(1 << 17)) / (at(1 << 17) - at(1 << 16));
      CHECK(growth > 1.9);
      CHECK(growth < 2.1);
    }
  }
}
