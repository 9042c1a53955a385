// The safetensors reader and the learned estimator's weights file: round trip, fp16/bf16 widening, and
// errors that name the file and the tensor (missing, wrongly shaped, malformed header).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "attention_variants/sea/learned_estimator.hpp"
#include "harness/core/errors.hpp"
#include "harness/io/npy.hpp"
#include "harness/io/safetensors.hpp"
#include "tests/variants/sea_test_util.hpp"

using namespace sb;
using namespace sb::sea;
using namespace sb::io;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("seabench_sea_w_" + name)).string();
}

/// Write a raw safetensors file: header text and data bytes as given.
void write_raw(const std::string& path, const std::string& header, const std::vector<unsigned char>& data) {
  std::ofstream out(path, std::ios::binary);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
  out << header;
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

struct weights_case {
  problem p;
  config c;
  std::map<std::string, host_tensor> tensors;
  weights_case(bool causal) : p(sea_test::make_problem(16, causal, 2, 2, 8)) {
    c = make_config(p, sea_test::params_with({{"estimator", std::string("performer")}, {"K", std::int64_t{8}}}));
    tensors = performer_weight_tensors(random_performer_weights(p, c), p, c);
  }
};
}  // namespace

TEST_CASE("sea safetensors: F32 round trip with metadata", "[sea]") {
  const std::string path = temp_path("roundtrip.safetensors");
  std::map<std::string, host_tensor> t;
  t["a"] = {{2, 3}, {1, 2, 3, 4, 5, -6.5f}};
  t["b.c"] = {{1}, {0.25f}};
  write_safetensors(path, t, {{"format", "pt"}});
  const auto f = safetensors_file::load(path);
  CHECK(f.get("a", {2, 3}).data == t["a"].data);
  CHECK(f.get("b.c").shape == std::vector<std::int64_t>{1});
  CHECK(f.metadata().at("format") == "pt");
  std::remove(path.c_str());
}

TEST_CASE("sea safetensors: F16 and BF16 tensors widen to fp32", "[sea]") {
  CHECK(half_to_float(0x3c00) == 1.0f);
  CHECK(half_to_float(0xc000) == -2.0f);
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(half_to_float(0x7bff) == 65504.0f);
  CHECK(std::isinf(half_to_float(0x7c00)));
  CHECK(bf16_to_float(0x3f80) == 1.0f);
  CHECK(bf16_to_float(0x4049) == Approx(3.140625f));
  const std::string path = temp_path("half.safetensors");
  // x: F16 [2] = {1, -2}; y: BF16 [1] = {1}.
  write_raw(path,
            R"({"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"y":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}})",
            {0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f});
  const auto f = safetensors_file::load(path);
  CHECK(f.get("x", {2}).data == std::vector<float>{1.0f, -2.0f});
  CHECK(f.get("y", {1}).data == std::vector<float>{1.0f});
  std::remove(path.c_str());
}

TEST_CASE("sea safetensors: malformed files fail with a message naming the file and tensor", "[sea]") {
  const std::string path = temp_path("bad.safetensors");
  CHECK_THROWS_WITH(safetensors_file::load(path + ".absent"), Catch::Contains("cannot open"));
  write_raw(path, "{not json", {});
  CHECK_THROWS_WITH(safetensors_file::load(path), Catch::Contains("JSON header"));
  write_raw(path, R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::vector<unsigned char>(8));
  CHECK_THROWS_WITH(safetensors_file::load(path), Catch::Contains("tensor 'w'") && Catch::Contains("I64"));
  write_raw(path, R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::vector<unsigned char>(8));
  CHECK_THROWS_WITH(safetensors_file::load(path), Catch::Contains("tensor 'w'") && Catch::Contains("[3]"));
  write_raw(path, R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::vector<unsigned char>(8));
  CHECK_THROWS_WITH(safetensors_file::load(path), Catch::Contains("tensor 'w'") && Catch::Contains("outside"));
  {
    std::ofstream out(path, std::ios::binary);
    out << "abc";
  }
  CHECK_THROWS_AS(safetensors_file::load(path), data_error);
  std::remove(path.c_str());
}

TEST_CASE("sea weights: a complete file loads and reproduces the seeded estimator", "[sea]") {
  for (bool causal : {false, true}) {
    INFO((causal ? "causal" : "non-causal"));
    weights_case w(causal);
    const std::string path = temp_path(causal ? "full_c.safetensors" : "full.safetensors");
    write_safetensors(path, w.tensors);
    const auto in = sea_test::random_inputs(w.p, 3);
    config from_file = w.c;
    from_file.weights = path;
    auto a = make_estimator(w.p, w.c);
    auto b = make_estimator(w.p, from_file);
    CHECK_FALSE(a->trained());
    CHECK(b->trained());
    std::vector<float> ea(static_cast<std::size_t>(w.p.heads) * w.p.seq_len * 8), eb(ea.size());
    a->estimate(in.view(), ea.data(), nullptr);
    b->estimate(in.view(), eb.data(), nullptr);
    CHECK(ea == eb);
    // The spec lists exactly the tensors the file holds.
    CHECK(performer_weight_specs(w.p, w.c).size() == w.tensors.size());
    std::remove(path.c_str());
  }
}

TEST_CASE("sea weights: a missing or wrongly shaped tensor is named in the error", "[sea]") {
  for (bool causal : {false, true}) {
    weights_case w(causal);
    const std::string path = temp_path("broken.safetensors");
    config c = w.c;
    c.weights = path;
    for (const auto& spec : performer_weight_specs(w.p, w.c)) {
      INFO(spec.name);
      auto missing = w.tensors;
      missing.erase(spec.name);
      write_safetensors(path, missing);
      CHECK_THROWS_WITH(make_estimator(w.p, c), Catch::Contains("'" + spec.name + "'") && Catch::Contains("missing"));
      auto reshaped = w.tensors;
      host_tensor& t = reshaped.at(spec.name);
      t.shape.back() += 1;
      t.data.resize(static_cast<std::size_t>(t.numel()));
      write_safetensors(path, reshaped);
      CHECK_THROWS_WITH(make_estimator(w.p, c), Catch::Contains("'" + spec.name + "'") && Catch::Contains("shape"));
    }
    std::remove(path.c_str());
  }
}

TEST_CASE("sea weights: causal convolutions also load from the official 5-tap layout", "[sea]") {
  weights_case w(true);
  auto tensors = w.tensors;
  for (const char* name : {"cnn.conv1.weight", "cnn.conv2.weight"}) {
    host_tensor& t = tensors.at(name);
    const std::int64_t co = t.shape[0], ci = t.shape[1];
    std::vector<float> five(static_cast<std::size_t>(co * ci * 15), 99.0f);  // taps 3, 4 are masked: ignored
    for (std::int64_t oc = 0; oc < co * ci; ++oc)
      for (int x = 0; x < 9; ++x) five[static_cast<std::size_t>(oc * 15 + x)] = t.data[static_cast<std::size_t>(oc * 9 + x)];
    t.shape = {co, ci, 5, 3};
    t.data = five;
  }
  const std::string path = temp_path("five.safetensors");
  write_safetensors(path, tensors);
  const auto in = sea_test::random_inputs(w.p, 4);
  config c = w.c;
  c.weights = path;
  std::vector<float> ea(static_cast<std::size_t>(w.p.heads) * w.p.seq_len * 8), eb(ea.size());
  make_estimator(w.p, w.c)->estimate(in.view(), ea.data(), nullptr);
  make_estimator(w.p, c)->estimate(in.view(), eb.data(), nullptr);
  CHECK(ea == eb);
  std::remove(path.c_str());
}
