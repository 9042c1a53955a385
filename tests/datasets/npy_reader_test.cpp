// Tests for harness/io/npy: 16-bit float conversions, header parsing (versions 1-3), reading and
// writing fp32 / fp16 / bf16 files, and the rejection of bad files with a clear message.
#include <cmath>
#include <cstring>
#include <limits>

#include <catch2/catch.hpp>

#include "harness/core/errors.hpp"
#include "harness/io/npy.hpp"
#include "tests/datasets/test_support.hpp"

using namespace sb;
using Catch::Contains;

namespace {

/// A preamble + header dict with the given version (2 and 3 use a 4-byte length).
std::string raw_header(int major, const std::string& dict) {
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t len = dict.size();
  if (major == 1) {
    out += static_cast<char>(len & 0xff);
    out += static_cast<char>(len >> 8);
  } else {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((len >> (8 * i)) & 0xff);
  }
  return out + dict;
}

std::string f32_bytes(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

}  // namespace

TEST_CASE("half and bfloat16 conversions round to nearest even", "[datasets][npy]") {
  CHECK(float_to_half(1.0f) == 0x3c00);
  CHECK(float_to_half(-2.0f) == 0xc000);
  CHECK(float_to_half(65504.0f) == 0x7bff);
  CHECK(float_to_half(65519.0f) == 0x7bff);
  CHECK(float_to_half(65520.0f) == 0x7c00);  // rounds to +inf
  CHECK(float_to_half(std::ldexp(1.0f, -24)) == 0x0001);
  CHECK(float_to_half(std::ldexp(1.0f, -26)) == 0x0000);      // below half the smallest subnormal
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);      // tie → even
  CHECK(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // tie → even (up)
  CHECK(std::isnan(half_to_float(float_to_half(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(half_to_float(0x3555) == Approx(0.333251953125).margin(0));
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(half_to_float(0xfc00) == -std::numeric_limits<float>::infinity());
  // Every non-NaN half survives a round trip through fp32.
  int bad = 0;
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    if ((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff)) continue;
    bad += float_to_half(half_to_float(bits)) != bits;
  }
  CHECK(bad == 0);

  CHECK(float_to_bf16(1.0f) == 0x3f80);
  CHECK(bf16_to_float(0x3f80) == 1.0f);
  CHECK(float_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);      // tie → even
  CHECK(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);  // tie → even (up)
  CHECK(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("make_npy_header writes a 64-byte aligned version 1 header that parses back", "[datasets][npy]") {
  for (const auto& shape : {std::vector<std::int64_t>{}, {5}, {4, 3, 4, 2048, 64}}) {
    const std::string h = make_npy_header("<f2", false, shape);
    CHECK(h.size() % 64 == 0);
    CHECK(h.back() == '\n');
    const npy_header parsed = parse_npy_header(h, "mem");
    CHECK(parsed.shape == shape);
    CHECK(parsed.descr == "<f2");
    CHECK(parsed.item_bytes == 2);
    CHECK(parsed.data_offset == h.size());
  }
  CHECK_THAT(make_npy_header("<f4", false, {5}), Contains("'shape': (5,)"));
}

TEST_CASE("the header parser reads versions 2 and 3, Python 2 longs and either quote", "[datasets][npy]") {
  const std::string dict = "{\"descr\": \"<f4\", 'fortran_order': False, 'shape': (2L, 3L), }\n";
  for (int major : {2, 3}) {
    const npy_header h = parse_npy_header(raw_header(major, dict), "mem");
    CHECK(h.version_major == major);
    CHECK(h.shape == std::vector<std::int64_t>{2, 3});
    CHECK(h.data_offset == 12 + dict.size());
  }
}

TEST_CASE("npy files round-trip as fp32, fp16 and bf16", "[datasets][npy]") {
  test::scratch_dir dir;
  const std::vector<std::int64_t> shape{3, 2, 5, 4};
  std::vector<float> values(120);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.25f - 7.5f;  // exact in all

  SECTION("fp32") {
    write_npy(dir / "a.npy", shape, values, npy_element::f32);
    const npy_header h = read_npy_header(dir / "a.npy");
    CHECK(h.descr == "<f4");
    CHECK(h.shape == shape);
    CHECK(h.data_complete());
    CHECK(read_npy_f32(dir / "a.npy") == values);
  }
  SECTION("fp16") {
    write_npy(dir / "a.npy", shape, values, npy_element::f16);
    CHECK(read_npy_header(dir / "a.npy").descr == "<f2");
    CHECK(read_npy_f32(dir / "a.npy") == values);
  }
  SECTION("bf16 is <u2 and needs the flag") {
    write_npy(dir / "a.npy", shape, values, npy_element::bf16);
    CHECK(read_npy_header(dir / "a.npy").descr == "<u2");
    CHECK(read_npy_f32(dir / "a.npy", true) == values);
    CHECK_THROWS_WITH(read_npy_f32(dir / "a.npy", false), Contains("<u2") && Contains("bf16"));
  }
  SECTION("slices") {
    write_npy(dir / "a.npy", shape, values, npy_element::f16);
    npy_reader r(dir / "a.npy");
    std::vector<float> part(7);
    r.read(33, npy_element::f16, part);
    CHECK(part == std::vector<float>(values.begin() + 33, values.begin() + 40));
    CHECK_THROWS_WITH(r.read(115, npy_element::f16, part), Contains("outside the array"));
  }
}

TEST_CASE("bad npy files are rejected with a message naming the file and the problem", "[datasets][npy]") {
  test::scratch_dir dir;
  const auto path = dir / "bad.npy";
  const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n";
  auto expect = [&](const std::string& bytes, const std::string& needle) {
    test::write_bytes(path, bytes);
    CHECK_THROWS_AS(read_npy_header(path), data_error);
    CHECK_THROWS_WITH(read_npy_header(path), Contains(path.string()) && Contains(needle));
  };
  SECTION("missing file") {
    CHECK_THROWS_WITH(read_npy_header(dir / "none.npy"), Contains("none.npy") && Contains("file not found"));
  }
  SECTION("bad magic") { expect("\x93NUMPZ\x01\x00" + std::string(100, ' '), "bad magic"); }
  SECTION("not even a preamble") { expect("\x93NUM", "bad magic"); }
  SECTION("preamble cut short") { expect(std::string("\x93NUMPY\x01", 7), "truncated header"); }
  SECTION("truncated header") { expect(raw_header(1, good_dict).substr(0, 40), "truncated header"); }
  SECTION("unknown version") { expect(raw_header(4, good_dict), "unsupported .npy format version 4"); }
  SECTION("fortran order") {
    expect(raw_header(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n"), "fortran_order is True");
  }
  SECTION("big-endian") {
    expect(raw_header(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }\n"), "big-endian");
  }
  SECTION("object array") {
    expect(raw_header(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2, 2), }\n"), "object arrays");
  }
  SECTION("structured dtype") {
    expect(raw_header(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n"),
           "structured dtypes");
  }
  SECTION("missing key") { expect(raw_header(1, "{'descr': '<f4', 'shape': (2, 2), }\n"), "no 'fortran_order'"); }
  SECTION("syntax error") {
    expect(raw_header(1, "{'descr': '<f4', 'fortran_order': False 'shape': (2, 2), }\n"), "malformed header");
  }
  SECTION("negative dimension") {
    expect(raw_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2), }\n"), "bad dimension");
  }
  SECTION("unsupported descr parses but cannot be read as floats") {
    test::write_bytes(path, raw_header(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }\n") +
                                std::string(8, '\0'));
    const npy_header h = read_npy_header(path);
    CHECK(h.type_char == 'i');
    CHECK_THROWS_WITH(npy_element_of(h, false, path.string()),
                      Contains("unsupported dtype descr '<i4'") && Contains("'<f2', '<f4'"));
    CHECK_THROWS_WITH(read_npy_f32(path), Contains("unsupported dtype descr '<i4'"));
  }
  SECTION("truncated data") {
    test::write_bytes(path, raw_header(1, good_dict) + f32_bytes({1, 2, 3}));  // shape says 4 values
    const npy_header h = read_npy_header(path);
    CHECK_FALSE(h.data_complete());
    CHECK(h.available_data_bytes() == 12);
    CHECK_THROWS_AS(read_npy_f32(path), data_error);
    CHECK_THROWS_WITH(read_npy_f32(path), Contains(path.string()) && Contains("truncated data") &&
                                              Contains("needs 16 data bytes but the file has 12"));
    npy_reader r(path);
    std::vector<float> first3(3);
    r.read(0, npy_element::f32, first3);  // what is there can still be read
    CHECK(first3 == std::vector<float>{1, 2, 3});
  }
}
