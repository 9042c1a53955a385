// The .npy reader and writer (format: numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
// The header is a Python dict literal; it is parsed by a small recursive-descent parser that knows
// exactly the literals NumPy writes (dicts, tuples, lists, strings, ints, True/False/None).
#include "harness/io/npy.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/core/errors.hpp"

namespace sb {

static_assert(std::endian::native == std::endian::little, "the .npy reader assumes a little-endian host");

std::string_view to_string(npy_element e) {
  switch (e) {
    case npy_element::f16: return "fp16";
    case npy_element::f32: return "fp32";
    case npy_element::bf16: return "bf16";
  }
  return "?";
}

std::uint64_t npy_header::elements() const {
  std::uint64_t n = 1;
  for (auto d : shape) n *= static_cast<std::uint64_t>(d);
  return n;
}

std::string npy_header::shape_string() const { return fmt::format("[{}]", fmt::join(shape, ", ")); }

namespace {

constexpr std::string_view npy_magic = "\x93NUMPY";

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
  throw data_error(fmt::format("{}: {}", what, problem));
}

/// Recursive-descent parser for the Python literals of a .npy header dict. Tuples and lists become
/// JSON arrays, dicts objects; anything else is a syntax error with its offset.
class literal_parser {
 public:
  literal_parser(std::string_view text, const std::string& what) : m_text(text), m_what(what) {}

  nlohmann::json parse_document() {
    nlohmann::json v = parse_value();
    skip_space();
    if (m_pos != m_text.size()) error("unexpected text after the header dict");
    return v;
  }

 private:
  [[noreturn]] void error(std::string_view problem) {
    fail(m_what, fmt::format("malformed header ({} at offset {} of '{}')", problem, m_pos, printable()));
  }
  std::string printable() const {
    std::string s;
    for (char c : m_text.substr(0, 200)) s += (c >= 32 && c < 127) ? c : '?';
    return s;
  }
  void skip_space() {
    while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\n' || m_text[m_pos] == '\t' ||
                                     m_text[m_pos] == '\r'))
      ++m_pos;
  }
  bool consume(char c) {
    skip_space();
    if (m_pos < m_text.size() && m_text[m_pos] == c) {
      ++m_pos;
      return true;
    }
    return false;
  }
  bool consume_word(std::string_view w) {
    if (m_text.substr(m_pos, w.size()) != w) return false;
    m_pos += w.size();
    return true;
  }

  nlohmann::json parse_value() {
    if (++m_depth > 32) error("nesting too deep");
    skip_space();
    if (m_pos >= m_text.size()) error("header ends early");
    nlohmann::json v;
    const char c = m_text[m_pos];
    if (c == '{') v = parse_dict();
    else if (c == '(') v = parse_sequence('(', ')');
    else if (c == '[') v = parse_sequence('[', ']');
    else if (c == '\'' || c == '"') v = parse_string();
    else if (consume_word("True")) v = true;
    else if (consume_word("False")) v = false;
    else if (consume_word("None")) v = nullptr;
    else if (c == '-' || c == '+' || (c >= '0' && c <= '9')) v = parse_int();
    else error("unexpected character");
    --m_depth;
    return v;
  }

  nlohmann::json parse_dict() {
    consume('{');
    nlohmann::json obj = nlohmann::json::object();
    if (consume('}')) return obj;
    for (;;) {
      skip_space();
      nlohmann::json key = parse_value();
      if (!key.is_string()) error("dict key is not a string");
      if (!consume(':')) error("expected ':'");
      obj[key.get<std::string>()] = parse_value();
      if (consume('}')) return obj;
      if (!consume(',')) error("expected ',' or '}'");
      if (consume('}')) return obj;
    }
  }

  nlohmann::json parse_sequence(char open, char close) {
    consume(open);
    nlohmann::json arr = nlohmann::json::array();
    if (consume(close)) return arr;
    for (;;) {
      arr.push_back(parse_value());
      if (consume(close)) return arr;
      if (!consume(',')) error(fmt::format("expected ',' or '{}'", close));
      if (consume(close)) return arr;
    }
  }

  nlohmann::json parse_string() {
    const char quote = m_text[m_pos++];
    std::string s;
    while (m_pos < m_text.size() && m_text[m_pos] != quote) {
      if (m_text[m_pos] == '\\' && m_pos + 1 < m_text.size()) ++m_pos;
      s += m_text[m_pos++];
    }
    if (m_pos >= m_text.size()) error("unterminated string");
    ++m_pos;
    return s;
  }

  nlohmann::json parse_int() {
    const std::size_t start = m_pos;
    if (m_text[m_pos] == '-' || m_text[m_pos] == '+') ++m_pos;
    const std::size_t digits = m_pos;
    while (m_pos < m_text.size() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') ++m_pos;
    if (m_pos == digits) error("expected a digit");
    if (m_pos - digits > 18) error("integer too large");
    const std::int64_t v = std::stoll(std::string(m_text.substr(start, m_pos - start)));
    if (m_pos < m_text.size() && m_text[m_pos] == 'L') ++m_pos;  // Python 2 longs: (3L, 4L)
    return v;
  }

  std::string_view m_text;
  const std::string& m_what;
  std::size_t m_pos = 0;
  int m_depth = 0;
};

/// Split "<f2" into byte order, kind and item size; reject what the reader can never handle.
void parse_descr(npy_header& h, const std::string& what) {
  const std::string& d = h.descr;
  if (d.size() < 2) fail(what, fmt::format("unsupported dtype descr '{}'", d));
  h.byte_order = d[0];
  if (h.byte_order != '<' && h.byte_order != '>' && h.byte_order != '|' && h.byte_order != '=')
    fail(what, fmt::format("unsupported dtype descr '{}' (no byte-order character)", d));
  h.type_char = d[1];
  if (h.type_char == 'O') fail(what, "object arrays (descr '|O') are not supported");
  std::size_t bytes = 0;
  const std::string digits = d.substr(2);
  if (digits.empty() || digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), [](char c) {
        return c >= '0' && c <= '9';
      }))
    fail(what, fmt::format("unsupported dtype descr '{}'", d));
  bytes = std::stoul(digits);
  if (bytes == 0) fail(what, fmt::format("unsupported dtype descr '{}' (zero-size elements)", d));
  h.item_bytes = bytes;
  if (h.byte_order == '>' && bytes > 1)
    fail(what, fmt::format("big-endian data (descr '{}') is not supported; save it little-endian", d));
}

std::uint16_t load_u16(const char* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

}  // namespace

npy_header parse_npy_header(std::string_view bytes, const std::string& what) {
  if (bytes.size() < npy_magic.size() || bytes.substr(0, npy_magic.size()) != npy_magic)
    fail(what, "not a .npy file (bad magic; expected \\x93NUMPY)");
  if (bytes.size() < 10) fail(what, "truncated header (file ends inside the preamble)");
  npy_header h;
  h.version_major = static_cast<unsigned char>(bytes[6]);
  h.version_minor = static_cast<unsigned char>(bytes[7]);
  std::size_t preamble = 0;
  std::uint64_t header_len = 0;
  if (h.version_major == 1) {
    preamble = 10;
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned>(static_cast<unsigned char>(bytes[9])) << 8);
  } else if (h.version_major == 2 || h.version_major == 3) {
    preamble = 12;
    if (bytes.size() < preamble) fail(what, "truncated header (file ends inside the preamble)");
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
  } else {
    fail(what, fmt::format("unsupported .npy format version {}.{} (supported: 1, 2, 3)", h.version_major,
                           h.version_minor));
  }
  if (bytes.size() < preamble + header_len)
    fail(what, fmt::format("truncated header (header length {} but only {} bytes follow the preamble)", header_len,
                           bytes.size() - preamble));
  h.data_offset = preamble + header_len;
  h.file_bytes = bytes.size();

  const nlohmann::json dict = literal_parser(bytes.substr(preamble, header_len), what).parse_document();
  if (!dict.is_object()) fail(what, "malformed header (not a dict)");
  for (const char* key : {"descr", "fortran_order", "shape"})
    if (!dict.contains(key)) fail(what, fmt::format("malformed header (no '{}' key)", key));

  const auto& descr = dict.at("descr");
  if (descr.is_array()) fail(what, "structured dtypes (a list descr) are not supported");
  if (!descr.is_string()) fail(what, "malformed header ('descr' is not a string)");
  h.descr = descr.get<std::string>();
  parse_descr(h, what);

  const auto& fortran = dict.at("fortran_order");
  if (!fortran.is_boolean()) fail(what, "malformed header ('fortran_order' is not True or False)");
  if (fortran.get<bool>())
    fail(what, "fortran_order is True; only C-ordered arrays are supported (save with np.ascontiguousarray)");

  const auto& shape = dict.at("shape");
  if (!shape.is_array()) fail(what, "malformed header ('shape' is not a tuple)");
  std::uint64_t total = 1;
  for (const auto& d : shape) {
    if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
      fail(what, fmt::format("malformed header (bad dimension {} in shape)", d.dump()));
    const auto n = static_cast<std::uint64_t>(d.get<std::int64_t>());
    if (n != 0 && total > std::numeric_limits<std::uint64_t>::max() / n / h.item_bytes)
      fail(what, "malformed header (shape too large)");
    total *= n;
    h.shape.push_back(d.get<std::int64_t>());
  }
  return h;
}

npy_header read_npy_header(const std::filesystem::path& path) {
  const std::string what = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(what, "file not found");
  if (std::filesystem::is_directory(path, ec)) fail(what, "is a directory, not a .npy file");
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) fail(what, fmt::format("cannot stat: {}", ec.message()));
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(what, "cannot open for reading");
  // The preamble says how long the header is; read exactly that much (never the data).
  std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(size, 12)), '\0');
  in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  if (static_cast<std::size_t>(in.gcount()) != buf.size()) fail(what, "read error in the preamble");
  std::uint64_t want = buf.size();
  if (buf.size() >= 10 && std::string_view(buf).substr(0, 6) == npy_magic) {
    const int major = static_cast<unsigned char>(buf[6]);
    if (major == 1) want = 10 + load_u16(buf.data() + 8);
    else if ((major == 2 || major == 3) && buf.size() >= 12) {
      std::uint32_t len;
      std::memcpy(&len, buf.data() + 8, 4);
      want = 12 + static_cast<std::uint64_t>(len);
    }
  }
  want = std::min(want, size);
  if (want > buf.size()) {
    const std::size_t have = buf.size();
    buf.resize(static_cast<std::size_t>(want));
    in.read(buf.data() + have, static_cast<std::streamsize>(want - have));
    if (static_cast<std::uint64_t>(in.gcount()) != want - have) fail(what, "read error in the header");
  }
  npy_header h = parse_npy_header(buf, what);
  h.file_bytes = size;
  return h;
}

npy_element npy_element_of(const npy_header& h, bool u2_is_bf16, const std::string& what) {
  const bool little = h.byte_order == '<' || h.byte_order == '=';
  if (little && h.type_char == 'f' && h.item_bytes == 2) return npy_element::f16;
  if (little && h.type_char == 'f' && h.item_bytes == 4) return npy_element::f32;
  if (little && h.type_char == 'u' && h.item_bytes == 2) {
    if (u2_is_bf16) return npy_element::bf16;
    fail(what, "descr '<u2' holds raw 16-bit integers; set dtype = \"bf16\" if they are bfloat16 values");
  }
  fail(what, fmt::format("unsupported dtype descr '{}' (supported: '<f2', '<f4', and '<u2' with dtype = \"bf16\")",
                         h.descr));
}

npy_reader::npy_reader(std::filesystem::path path) : m_path(std::move(path)) {
  m_header = read_npy_header(m_path);
  m_in.open(m_path, std::ios::binary);
  if (!m_in) fail(m_path.string(), "cannot open for reading");
}

void npy_reader::read(std::uint64_t first, npy_element as, std::span<float> out) {
  const std::string what = m_path.string();
  const std::size_t item = as == npy_element::f32 ? 4 : 2;
  if (item != m_header.item_bytes)
    fail(what, fmt::format("reading {} elements from a file whose descr is '{}'", to_string(as), m_header.descr));
  const std::uint64_t count = out.size();
  if (first > m_header.elements() || count > m_header.elements() - first)
    fail(what, fmt::format("elements {}..{} are outside the array of shape {}", first, first + count,
                           m_header.shape_string()));
  const std::uint64_t begin = m_header.data_offset + first * item;
  const std::uint64_t end = begin + count * item;
  if (end > m_header.file_bytes)
    fail(what, fmt::format("truncated data: shape {} of '{}' needs {} data bytes but the file has {}",
                           m_header.shape_string(), m_header.descr, m_header.data_bytes(),
                           m_header.available_data_bytes()));
  m_buffer.resize(static_cast<std::size_t>(count * item));
  m_in.clear();
  m_in.seekg(static_cast<std::streamoff>(begin));
  m_in.read(m_buffer.data(), static_cast<std::streamsize>(m_buffer.size()));
  if (static_cast<std::size_t>(m_in.gcount()) != m_buffer.size())
    fail(what, fmt::format("truncated data: could read only {} of {} bytes at offset {}", m_in.gcount(),
                           m_buffer.size(), begin));
  const char* p = m_buffer.data();
  switch (as) {
    case npy_element::f32: std::memcpy(out.data(), p, m_buffer.size()); break;
    case npy_element::f16:
      for (std::size_t i = 0; i < count; ++i) out[i] = half_to_float(load_u16(p + 2 * i));
      break;
    case npy_element::bf16:
      for (std::size_t i = 0; i < count; ++i) out[i] = bf16_to_float(load_u16(p + 2 * i));
      break;
  }
}

std::vector<float> read_npy_f32(const std::filesystem::path& path, bool u2_is_bf16) {
  npy_reader r(path);
  const npy_element as = npy_element_of(r.header(), u2_is_bf16, path.string());
  std::vector<float> out(static_cast<std::size_t>(r.header().elements()));
  r.read(0, as, out);
  return out;
}

std::string make_npy_header(std::string_view descr, bool fortran_order, const std::vector<std::int64_t>& shape) {
  std::string dims;
  for (auto d : shape) dims += fmt::format("{}, ", d);
  if (shape.size() > 1) dims.resize(dims.size() - 2);   // (4, 3) ; a 1-tuple keeps its comma: (5,)
  else if (shape.size() == 1) dims.pop_back();
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': {}, 'shape': ({}), }}", descr,
                                 fortran_order ? "True" : "False", dims);
  const std::size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string out(npy_magic);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>((dict.size() >> 8) & 0xff);
  return out + dict;
}

void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape,
               std::span<const float> data, npy_element as) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= static_cast<std::uint64_t>(d);
  if (n != data.size())
    fail(path.string(), fmt::format("write_npy: shape has {} elements but {} values were given", n, data.size()));
  const char* descr = as == npy_element::f32 ? "<f4" : as == npy_element::f16 ? "<f2" : "<u2";
  std::string bytes = make_npy_header(descr, false, shape);
  const std::size_t header = bytes.size();
  bytes.resize(header + data.size() * (as == npy_element::f32 ? 4 : 2));
  char* p = bytes.data() + header;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (as == npy_element::f32) {
      std::memcpy(p + 4 * i, &data[i], 4);
    } else {
      const std::uint16_t h = as == npy_element::f16 ? float_to_half(data[i]) : float_to_bf16(data[i]);
      std::memcpy(p + 2 * i, &h, 2);
    }
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path.string(), "cannot open for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) fail(path.string(), "write error");
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant · 2^-24, exact in fp32
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

std::uint16_t float_to_half(float f) {
  std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) return sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u);  // NaN, inf
  if (x >= 0x477ff000u) return sign | 0x7c00u;                                  // ≥ 65520 rounds to inf
  if (x < 0x38800000u) {  // below 2^-14: a half subnormal (or zero); scaling by 2^24 is exact
    const auto m = static_cast<std::uint16_t>(std::nearbyint(std::bit_cast<float>(x) * 16777216.0f));
    return sign | m;
  }
  x += 0xfffu + ((x >> 13) & 1u);  // round to nearest even on the 13 dropped bits
  return static_cast<std::uint16_t>(sign | ((x - (112u << 23)) >> 13));
}

float bf16_to_float(std::uint16_t b) { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }

std::uint16_t float_to_bf16(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace sb
