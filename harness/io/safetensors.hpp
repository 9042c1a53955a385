// A small safetensors reader (and an F32 writer for tests and exports). Format: an 8-byte little-endian
// header length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin,
// end]}, "__metadata__": {...}}, then the raw little-endian tensor bytes, offsets relative to the end of
// the header. F32, F16 and BF16 tensors are read and widened to fp32. Every defect is an sb::data_error
// that names the file and, where there is one, the tensor. Used by SEA's trained-estimator weights and
// by the OPT checkpoint loader (harness/model/).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sb::io {

struct host_tensor {
  std::vector<std::int64_t> shape;
  std::vector<float> data;  ///< row-major, fp32
  [[nodiscard]] std::int64_t numel() const;
};

[[nodiscard]] std::string shape_string(const std::vector<std::int64_t>& shape);

class safetensors_file {
 public:
  /// Parse and load every tensor. Throws sb::data_error (unreadable file, short header, bad JSON,
  /// unknown dtype, offsets outside the file, byte size not matching the shape).
  static safetensors_file load(const std::string& path);

  [[nodiscard]] bool has(const std::string& name) const { return m_tensors.count(name) != 0; }
  /// The tensor `name`, which must have exactly `shape`; otherwise sb::data_error naming the tensor, the
  /// expected and the found shape (or that it is missing).
  [[nodiscard]] const host_tensor& get(const std::string& name, const std::vector<std::int64_t>& shape) const;
  /// The tensor `name` with any shape (sb::data_error when missing).
  [[nodiscard]] const host_tensor& get(const std::string& name) const;
  [[nodiscard]] const std::map<std::string, host_tensor>& tensors() const { return m_tensors; }
  [[nodiscard]] const std::map<std::string, std::string>& metadata() const { return m_metadata; }
  [[nodiscard]] const std::string& path() const { return m_path; }

 private:
  std::string m_path;
  std::map<std::string, host_tensor> m_tensors;
  std::map<std::string, std::string> m_metadata;
};

/// Write F32 tensors (sorted by name, packed in that order) and string metadata. Throws sb::data_error
/// when the file cannot be written or a tensor's data size does not match its shape.
void write_safetensors(const std::string& path, const std::map<std::string, host_tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace sb::io
