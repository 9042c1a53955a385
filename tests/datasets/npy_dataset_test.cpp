// Tests for the npy dataset: path resolution, layer / index selection and its canonical form, labels,
// dtypes, check() reasons, errors for bad files, and (when ../shared/data exists) the reference
// statistics of brown_lm_qkv.npy.
#include <cmath>

#include <catch2/catch.hpp>

#include "harness/core/errors.hpp"
#include "harness/io/npy.hpp"
#include "tests/datasets/test_support.hpp"

using namespace sb;
using Catch::Contains;

namespace {

/// Geometry of a test file [leading..., 3, H, T, D]; element i holds the value i (exact in fp16 below
/// 2048 and in bf16 below 256), so every loaded value says where it came from.
struct tagged {
  int h, t, d;
  [[nodiscard]] float at(int slab, int c, int head, int pos, int dim) const {
    return static_cast<float>(((static_cast<std::int64_t>(slab) * 3 + c) * h + head) * t * d + pos * d + dim);
  }
};

/// Write a [leading..., 3, H, T, D] file whose element i is i.
tagged write_tagged(const std::filesystem::path& path, const std::vector<std::int64_t>& leading, int h, int t, int d,
                    npy_element as) {
  std::vector<std::int64_t> shape = leading;
  for (std::int64_t n : {3, h, t, d}) shape.push_back(n);
  std::int64_t count = 1;
  for (auto n : shape) count *= n;
  std::vector<float> data(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
  write_npy(path, shape, data, as);
  return {h, t, d};
}

problem make_problem(int heads, int t, int d) {
  problem p;
  p.heads = heads;
  p.seq_len = t;
  p.head_dim = d;
  return p;
}

/// Q, K, V must be the first heads × seq_len of slab `slab` of the file.
void check_slice(const qkv_host& x, const problem& p, const tagged& file, int slab) {
  const std::vector<float>* tensors[3] = {&x.q, &x.k, &x.v};
  int wrong = 0;
  for (int c = 0; c < 3; ++c) {
    REQUIRE(tensors[c]->size() == p.qkv_elements());
    std::size_t e = 0;
    for (int h = 0; h < p.heads; ++h)
      for (int t = 0; t < p.seq_len; ++t)
        for (int d = 0; d < p.head_dim; ++d) wrong += (*tensors[c])[e++] != file.at(slab, c, h, t, d);
  }
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("npy: a [3, H, T, D] file, relative path, first heads and positions", "[datasets][npy]") {
  test::scratch_dir dir;
  std::filesystem::create_directories(dir / "data");
  const tagged file = write_tagged(dir / "data" / "qkv.npy", {}, 3, 6, 4, npy_element::f32);
  const auto& ds = test::dataset("npy");

  const auto opts = ds.expand({{"kind", "npy"}, {"path", "data/qkv.npy"}}, dir.path());
  REQUIRE(opts.size() == 1);
  CHECK(opts[0]["path"] == (dir / "data" / "qkv.npy").string());
  CHECK(opts[0]["dtype"] == "fp32");
  CHECK_FALSE(opts[0].contains("layer"));
  CHECK(ds.label(opts[0]) == "npy:qkv.npy");
  // Canonical options are stable: expanding them again gives the same object.
  CHECK(ds.expand(opts[0], "/elsewhere").at(0) == opts[0]);

  const problem p = make_problem(2, 4, 4);
  CHECK_FALSE(ds.check(opts[0], p));
  check_slice(ds.load(opts[0], p), p, file, 0);

  CHECK_THROWS_WITH(ds.expand({{"path", "data/qkv.npy"}, {"layer", 0}}, dir.path()),
                    Contains("no axes before q, k, v") && Contains("remove 'layer'"));
}

TEST_CASE("npy: [L, 3, H, T, D] with layer, a swept layer list, fp16", "[datasets][npy]") {
  test::scratch_dir dir;
  const tagged file = write_tagged(dir / "layers.npy", {4}, 2, 5, 8, npy_element::f16);
  const auto& ds = test::dataset("npy");
  const auto path = (dir / "layers.npy").string();

  const auto one = ds.expand({{"path", path}, {"layer", 3}}, "/");
  REQUIRE(one.size() == 1);
  CHECK(one[0] == nlohmann::json{{"kind", "npy"}, {"path", path}, {"dtype", "fp16"}, {"layer", 3}});
  CHECK(ds.label(one[0]) == "npy:layers.npy:layer=3");
  const problem p = make_problem(2, 5, 8);
  check_slice(ds.load(one[0], p), p, file, 3);

  const auto swept = ds.expand({{"path", path}, {"layer", {0, 2}}}, "/");
  REQUIRE(swept.size() == 2);
  CHECK(swept[1]["layer"] == 2);
  check_slice(ds.load(swept[1], p), p, file, 2);

  CHECK_THROWS_WITH(ds.expand({{"path", path}}, "/"),
                    Contains("must all be fixed") && Contains("[4, 3, 2, 5, 8]"));
  CHECK_THROWS_WITH(ds.expand({{"path", path}, {"layer", 4}}, "/"),
                    Contains("layer = 4 is out of range") && Contains("0 .. 3"));
  CHECK_THROWS_WITH(ds.expand({{"path", path}, {"layer", "3"}}, "/"), Contains("'layer'") || Contains("layer must"));
  CHECK_THROWS_WITH(ds.expand({{"path", path}, {"layer", nlohmann::json::array()}}, "/"), Contains("empty list"));
}

TEST_CASE("npy: more leading axes are fixed by index then layer, in one canonical form", "[datasets][npy]") {
  test::scratch_dir dir;
  const tagged file = write_tagged(dir / "runs.npy", {2, 3}, 1, 3, 2, npy_element::f32);
  const auto& ds = test::dataset("npy");
  const auto path = (dir / "runs.npy").string();

  const auto a = ds.expand({{"path", path}, {"index", {1}}, {"layer", 2}}, "/").at(0);
  const auto b = ds.expand({{"path", path}, {"index", {1, 2}}}, "/").at(0);
  CHECK(a == b);
  CHECK(a["index"] == nlohmann::json::array({1}));
  CHECK(a["layer"] == 2);
  CHECK(ds.label(a) == "npy:runs.npy:index=[1]:layer=2");
  const problem p = make_problem(1, 3, 2);
  check_slice(ds.load(a, p), p, file, 1 * 3 + 2);

  CHECK_THROWS_WITH(ds.expand({{"path", path}, {"layer", 1}}, "/"), Contains("2 axes before q, k, v"));
  CHECK_THROWS_WITH(ds.expand({{"path", path}, {"index", {2}}, {"layer", 0}}, "/"),
                    Contains("index[0] = 2 is out of range"));
  CHECK_THROWS_WITH(ds.expand({{"path", path}, {"index", 1}, {"layer", 0}}, "/"), Contains("list of integers"));
}

TEST_CASE("npy: bf16 is <u2 with dtype = \"bf16\"; dtype must match the file", "[datasets][npy]") {
  test::scratch_dir dir;
  const tagged file = write_tagged(dir / "b.npy", {}, 1, 4, 2, npy_element::bf16);
  write_tagged(dir / "h.npy", {}, 1, 4, 2, npy_element::f16);
  const auto& ds = test::dataset("npy");
  const auto opts = ds.expand({{"path", (dir / "b.npy").string()}, {"dtype", "bf16"}}, "/").at(0);
  CHECK(opts["dtype"] == "bf16");
  const problem p = make_problem(1, 4, 2);
  check_slice(ds.load(opts, p), p, file, 0);

  CHECK_THROWS_WITH(ds.expand({{"path", (dir / "b.npy").string()}}, "/"),
                    Contains("b.npy") && Contains("dtype = \"bf16\""));
  CHECK_THROWS_WITH(ds.expand({{"path", (dir / "h.npy").string()}, {"dtype", "bf16"}}, "/"),
                    Contains("dtype = \"bf16\" but the file's descr '<f2' holds fp16"));
  CHECK_THROWS_WITH(ds.expand({{"path", (dir / "h.npy").string()}, {"dtype", "int8"}}, "/"),
                    Contains("'dtype'") && Contains("fp16, fp32, bf16"));
}

TEST_CASE("npy: check() names shape mismatches", "[datasets][npy]") {
  test::scratch_dir dir;
  write_tagged(dir / "q.npy", {}, 2, 8, 4, npy_element::f32);
  const auto& ds = test::dataset("npy");
  const auto opts = ds.expand({{"path", (dir / "q.npy").string()}}, "/").at(0);
  CHECK_FALSE(ds.check(opts, make_problem(2, 8, 4)));
  problem p = make_problem(2, 8, 4);
  p.batch = 2;
  CHECK_THAT(ds.check(opts, p).value_or(""), Contains("batch must be 1"));
  CHECK_THAT(ds.check(opts, make_problem(2, 16, 4)).value_or(""), Contains("T = 8") && Contains("seq_len = 16"));
  CHECK_THAT(ds.check(opts, make_problem(3, 8, 4)).value_or(""), Contains("H = 2") && Contains("heads = 3"));
  CHECK_THAT(ds.check(opts, make_problem(2, 8, 8)).value_or(""), Contains("D = 4") && Contains("not 8"));
  CHECK_THROWS_AS(ds.load(opts, make_problem(2, 16, 4)), data_error);
}

TEST_CASE("npy: bad files and options are config errors at expand, data errors at load", "[datasets][npy]") {
  test::scratch_dir dir;
  const auto& ds = test::dataset("npy");
  const auto path = dir / "x.npy";

  CHECK_THROWS_WITH(ds.expand({{"kind", "npy"}}, "/"), Contains("'path'") && Contains("required"));
  CHECK_THROWS_WITH(ds.expand({{"path", "x.npy"}, {"layers", 1}}, dir.path()), Contains("unknown option 'layers'"));
  CHECK_THROWS_AS(ds.expand({{"path", "missing.npy"}}, dir.path()), config_error);
  CHECK_THROWS_WITH(ds.expand({{"path", "missing.npy"}}, dir.path()),
                    Contains((dir / "missing.npy").string()) && Contains("file not found"));

  SECTION("bad magic") {
    test::write_bytes(path, "PK\x03\x04 not numpy at all, just some bytes................");
    CHECK_THROWS_WITH(ds.expand({{"path", "x.npy"}}, dir.path()), Contains(path.string()) && Contains("bad magic"));
  }
  SECTION("wrong number of dimensions") {
    write_npy(path, {3, 4, 2}, std::vector<float>(24), npy_element::f32);
    CHECK_THROWS_WITH(ds.expand({{"path", "x.npy"}}, dir.path()),
                      Contains("shape [3, 4, 2]") && Contains("expected [3, H, T, D]"));
  }
  SECTION("no q, k, v axis") {
    write_npy(path, {2, 1, 2, 2}, std::vector<float>(8), npy_element::f32);
    CHECK_THROWS_WITH(ds.expand({{"path", "x.npy"}}, dir.path()), Contains("axis of size 3 is q, k, v"));
  }
  SECTION("fortran order") {
    test::write_bytes(path, make_npy_header("<f4", true, {3, 1, 2, 2}) + std::string(48, '\0'));
    CHECK_THROWS_WITH(ds.expand({{"path", "x.npy"}}, dir.path()), Contains("fortran_order"));
  }
  SECTION("unsupported descr") {
    test::write_bytes(path, make_npy_header("<f8", false, {3, 1, 2, 2}) + std::string(96, '\0'));
    CHECK_THROWS_WITH(ds.expand({{"path", "x.npy"}}, dir.path()), Contains("unsupported dtype descr '<f8'"));
  }
  SECTION("truncated data: caught by expand, and by load if it happens later") {
    write_tagged(path, {}, 1, 4, 2, npy_element::f32);
    const auto opts = ds.expand({{"path", "x.npy"}}, dir.path()).at(0);
    const std::string bytes = test::read_bytes(path);
    test::write_bytes(path, bytes.substr(0, bytes.size() - 4));
    CHECK_THROWS_WITH(ds.expand({{"path", "x.npy"}}, dir.path()), Contains("truncated data"));
    CHECK_THROWS_AS(ds.load(opts, make_problem(1, 4, 2)), data_error);
    CHECK_THROWS_WITH(ds.load(opts, make_problem(1, 4, 2)), Contains(path.string()) && Contains("truncated data"));
    CHECK_NOTHROW(ds.load(opts, make_problem(1, 3, 2)));  // the part that is there still loads
  }
  SECTION("file removed after expand") {
    write_tagged(path, {}, 1, 4, 2, npy_element::f32);
    const auto opts = ds.expand({{"path", "x.npy"}}, dir.path()).at(0);
    std::filesystem::remove(path);
    CHECK_FALSE(ds.check(opts, make_problem(1, 4, 2)));
    CHECK_THROWS_AS(ds.load(opts, make_problem(1, 4, 2)), data_error);
  }
}

TEST_CASE("npy: brown_lm_qkv.npy layer 3 head 3 matches the reference statistics", "[datasets][npy]") {
  const std::filesystem::path file = SEABENCH_SHARED_DATA_DIR "/brown_lm_qkv.npy";
  if (!std::filesystem::exists(file)) {
    WARN("skipped: " << file.string() << " is not present");
    return;
  }
  const auto& ds = test::dataset("npy");
  const auto opts = ds.expand({{"kind", "npy"}, {"path", file.string()}, {"layer", 3}}, "/").at(0);
  CHECK(ds.label(opts) == "npy:brown_lm_qkv.npy:layer=3");
  problem p = make_problem(4, 2048, 64);
  p.causal = true;
  REQUIRE_FALSE(ds.check(opts, p));
  const qkv_host x = ds.load(opts, p);
  const int t = p.seq_len, d = p.head_dim, head = 3;
  const float* q = x.q.data() + static_cast<std::size_t>(head) * t * d;
  const float* k = x.k.data() + static_cast<std::size_t>(head) * t * d;
  double top = 0, window = 0;
  int rows = 0;
  for (int i = 256; i < t; ++i, ++rows) {
    const auto w = test::attention_row(q, k, t, d, i, true);
    top += test::top_k_mass(w, 64);
    window += test::range_mass(w, i - 63, i);
  }
  CHECK(top / rows == Approx(1.00).margin(0.01));
  CHECK(window / rows == Approx(0.41).margin(0.01));
}
