// NumPy .npy files (format versions 1, 2 and 3) with plain C++ I/O: a header parser, a reader that
// converts slices of little-endian fp16 / fp32 / bfloat16 arrays to fp32, a writer for tests and
// tools, and the 16-bit float conversions they need. Errors are sb::data_error naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sb {

/// How the reader interprets 16- or 32-bit elements. `bf16` is stored as `<u2` (NumPy has no bfloat16).
enum class npy_element { f16, f32, bf16 };

[[nodiscard]] std::string_view to_string(npy_element e);

/// The parsed preamble of a .npy file.
struct npy_header {
  int version_major = 1;
  int version_minor = 0;
  std::string descr;                 ///< as written, e.g. "<f2"
  char byte_order = '<';             ///< '<', '|' or '=' (big-endian files are rejected)
  char type_char = 'f';              ///< NumPy kind: 'f', 'u', 'i', 'b', 'c', 'S', 'V', ...
  std::size_t item_bytes = 0;        ///< size of one element
  bool fortran_order = false;        ///< always false: Fortran-ordered files are rejected
  std::vector<std::int64_t> shape;   ///< C order; empty for a 0-d array
  std::uint64_t data_offset = 0;     ///< bytes before the data section
  std::uint64_t file_bytes = 0;      ///< size of the file when the header was read

  /// Product of the shape (1 for a 0-d array).
  [[nodiscard]] std::uint64_t elements() const;
  /// Bytes the shape and descr call for.
  [[nodiscard]] std::uint64_t data_bytes() const { return elements() * item_bytes; }
  /// Bytes actually present after the header.
  [[nodiscard]] std::uint64_t available_data_bytes() const {
    return file_bytes > data_offset ? file_bytes - data_offset : 0;
  }
  [[nodiscard]] bool data_complete() const { return available_data_bytes() >= data_bytes(); }
  /// "[4, 3, 4, 2048, 64]"
  [[nodiscard]] std::string shape_string() const;
};

/// Parse the header of a .npy file held in memory (at least the preamble). `what` names the source in
/// errors. Rejects a bad magic, unknown versions, a truncated or malformed header dict, structured,
/// object and big-endian dtypes, fortran_order True and negative dimensions. file_bytes is set to
/// bytes.size(). Throws sb::data_error.
[[nodiscard]] npy_header parse_npy_header(std::string_view bytes, const std::string& what);

/// Read and parse the header of the file at `path`. Throws sb::data_error (missing file, bad header).
[[nodiscard]] npy_header read_npy_header(const std::filesystem::path& path);

/// The element interpretation of a header: `<f2` → f16, `<f4` → f32, `<u2` → bf16 when
/// `u2_is_bf16` (otherwise an error: raw 16-bit integers are not attention inputs). Any other
/// descr throws sb::data_error listing the supported ones.
[[nodiscard]] npy_element npy_element_of(const npy_header& h, bool u2_is_bf16, const std::string& what);

/// An open .npy file from which fp32 slices are read.
class npy_reader {
 public:
  /// Opens the file and parses its header. Throws sb::data_error.
  explicit npy_reader(std::filesystem::path path);
  [[nodiscard]] const npy_header& header() const { return m_header; }
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  /// Convert `out.size()` consecutive elements (C order) starting at flat element `first` to fp32.
  /// Throws sb::data_error when the range is outside the shape or the data section is truncated.
  void read(std::uint64_t first, npy_element as, std::span<float> out);

 private:
  std::filesystem::path m_path;
  std::ifstream m_in;
  npy_header m_header;
  std::vector<char> m_buffer;
};

/// Read a whole array as fp32 (descr `<f2`, `<f4`, or `<u2` with u2_is_bf16). For tests and tools.
[[nodiscard]] std::vector<float> read_npy_f32(const std::filesystem::path& path, bool u2_is_bf16 = false);

/// The full preamble (magic, version 1.0, length, dict padded with spaces to a multiple of 64 bytes,
/// newline) for an arbitrary descr, so tests can also produce files this reader must reject.
[[nodiscard]] std::string make_npy_header(std::string_view descr, bool fortran_order,
                                          const std::vector<std::int64_t>& shape);

/// Write `data` (C order, product of `shape` elements) as `<f4`, `<f2` or (bf16) `<u2`, rounding to
/// nearest even. Throws sb::data_error when the file cannot be written or the sizes disagree.
void write_npy(const std::filesystem::path& path, const std::vector<std::int64_t>& shape,
               std::span<const float> data, npy_element as);

/// IEEE binary16 ↔ fp32 (exact widening; narrowing rounds to nearest even, overflows to ±inf).
[[nodiscard]] float half_to_float(std::uint16_t h);
[[nodiscard]] std::uint16_t float_to_half(float f);
/// bfloat16 ↔ fp32 (the top 16 bits of an fp32; narrowing rounds to nearest even, NaN stays NaN).
[[nodiscard]] float bf16_to_float(std::uint16_t b);
[[nodiscard]] std::uint16_t float_to_bf16(float f);

}  // namespace sb
