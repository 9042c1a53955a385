#include "harness/cuda/dtype_codec.hpp"

#include <cstdint>
#include <cstring>

#include "harness/io/npy.hpp"

namespace sb::cuda {

std::vector<std::byte> encode_elements(dtype type, std::span<const float> values) {
  std::vector<std::byte> out(values.size() * dtype_bytes(type));
  switch (type) {
    case dtype::fp32:
      if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
      break;
    case dtype::fp16:
    case dtype::bf16:
      for (std::size_t i = 0; i < values.size(); ++i) {
        const std::uint16_t h = type == dtype::fp16 ? float_to_half(values[i]) : float_to_bf16(values[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
      }
      break;
  }
  return out;
}

void decode_elements(dtype type, const std::byte* bytes, std::span<float> out) {
  switch (type) {
    case dtype::fp32:
      if (!out.empty()) std::memcpy(out.data(), bytes, out.size() * sizeof(float));
      break;
    case dtype::fp16:
    case dtype::bf16:
      for (std::size_t i = 0; i < out.size(); ++i) {
        std::uint16_t h = 0;
        std::memcpy(&h, bytes + 2 * i, 2);
        out[i] = type == dtype::fp16 ? half_to_float(h) : bf16_to_float(h);
      }
      break;
  }
}

std::vector<float> round_through(dtype type, std::span<const float> values) {
  std::vector<float> out(values.size());
  const std::vector<std::byte> encoded = encode_elements(type, values);
  decode_elements(type, encoded.data(), out);
  return out;
}

}  // namespace sb::cuda
