#include "harness/io/safetensors.hpp"

#include <bit>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/core/errors.hpp"
#include "harness/io/npy.hpp"

namespace sb::io {
namespace {

constexpr std::uint64_t max_header_bytes = 100ull << 20;  // the format's own limit is 100 MB

std::uint64_t read_u64_le(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::size_t dtype_size(const std::string& dt) {
  if (dt == "F32") return 4;
  if (dt == "F16" || dt == "BF16") return 2;
  return 0;
}

}  // namespace

std::int64_t host_tensor::numel() const {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

std::string shape_string(const std::vector<std::int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

safetensors_file safetensors_file::load(const std::string& path) {
  auto fail = [&](const std::string& why) { return data_error(fmt::format("weights file '{}': {}", path, why)); };
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail("cannot open it");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8) throw fail(fmt::format("{} bytes is shorter than the 8-byte header length", bytes.size()));
  const std::uint64_t n = read_u64_le(bytes.data());
  if (n > max_header_bytes || n > bytes.size() - 8)
    throw fail(fmt::format("header length {} exceeds the file ({} bytes)", n, bytes.size()));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("the JSON header does not parse ({})", e.what()));
  }
  if (!header.is_object()) throw fail("the JSON header is not an object");
  const unsigned char* data = bytes.data() + 8 + n;
  const std::uint64_t data_bytes = bytes.size() - 8 - n;
  safetensors_file f;
  f.m_path = path;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (entry.is_object())
        for (const auto& [key, value] : entry.items())
          if (value.is_string()) f.m_metadata[key] = value.get<std::string>();
      continue;
    }
    auto bad = [&](const std::string& why) { return fail(fmt::format("tensor '{}': {}", name, why)); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      throw bad("entry needs dtype, shape and data_offsets");
    const auto& dt_json = entry.at("dtype");
    const auto& shape_json = entry.at("shape");
    const auto& off_json = entry.at("data_offsets");
    if (!dt_json.is_string()) throw bad("dtype is not a string");
    const std::string dt = dt_json.get<std::string>();
    const std::size_t esize = dtype_size(dt);
    if (esize == 0) throw bad(fmt::format("dtype {} is not supported (F32, F16, BF16)", dt));
    if (!shape_json.is_array()) throw bad("shape is not an array");
    host_tensor t;
    for (const auto& s : shape_json) {
      if (!s.is_number_integer() || s.get<std::int64_t>() < 0) throw bad("shape holds a non-integer or negative size");
      t.shape.push_back(s.get<std::int64_t>());
    }
    if (!off_json.is_array() || off_json.size() != 2 || !off_json[0].is_number_unsigned() ||
        !off_json[1].is_number_unsigned())
      throw bad("data_offsets must be two non-negative integers");
    const std::uint64_t begin = off_json[0].get<std::uint64_t>(), end = off_json[1].get<std::uint64_t>();
    if (begin > end || end > data_bytes)
      throw bad(fmt::format("data_offsets [{}, {}) lie outside the {} data bytes", begin, end, data_bytes));
    const std::uint64_t count = static_cast<std::uint64_t>(t.numel());
    if (end - begin != count * esize)
      throw bad(fmt::format("{} bytes do not hold shape {} of {}", end - begin, shape_string(t.shape), dt));
    t.data.resize(count);
    const unsigned char* src = data + begin;
    for (std::uint64_t i = 0; i < count; ++i) {
      if (esize == 4) {
        std::uint32_t bits = 0;
        for (int b = 3; b >= 0; --b) bits = (bits << 8) | src[i * 4 + b];
        t.data[i] = std::bit_cast<float>(bits);
      } else {
        const std::uint16_t bits = static_cast<std::uint16_t>(src[i * 2] | (src[i * 2 + 1] << 8));
        t.data[i] = dt == "F16" ? half_to_float(bits) : bf16_to_float(bits);
      }
    }
    f.m_tensors.emplace(name, std::move(t));
  }
  return f;
}

const host_tensor& safetensors_file::get(const std::string& name) const {
  auto it = m_tensors.find(name);
  if (it == m_tensors.end()) throw data_error(fmt::format("weights file '{}': tensor '{}' is missing", m_path, name));
  return it->second;
}

const host_tensor& safetensors_file::get(const std::string& name, const std::vector<std::int64_t>& shape) const {
  const host_tensor& t = get(name);
  if (t.shape != shape)
    throw data_error(fmt::format("weights file '{}': tensor '{}' has shape {}, expected {}", m_path, name,
                                 shape_string(t.shape), shape_string(shape)));
  return t;
}

void write_safetensors(const std::string& path, const std::map<std::string, host_tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (static_cast<std::int64_t>(t.data.size()) != t.numel())
      throw data_error(fmt::format("write_safetensors: tensor '{}' holds {} values, shape {} needs {}", name,
                                   t.data.size(), shape_string(t.shape), t.numel()));
    const std::uint64_t bytes = t.data.size() * 4;
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string json = header.dump();
  while (json.size() % 8 != 0) json.push_back(' ');  // keep the data 8-byte aligned, as the reference writer does
  std::ofstream out(path, std::ios::binary);
  if (!out) throw data_error(fmt::format("write_safetensors: cannot write '{}'", path));
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(json.size()) >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(json.data(), static_cast<std::streamsize>(json.size()));
  for (const auto& [name, t] : tensors) {
    for (float x : t.data) {
      const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
      char b[4];
      for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(bits >> (8 * i));
      out.write(b, 4);
    }
  }
  if (!out) throw data_error(fmt::format("write_safetensors: writing '{}' failed", path));
}

}  // namespace sb::io
