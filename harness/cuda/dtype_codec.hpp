// Host-side element conversion between the harness's fp32 tensors and a case's dtype: what the
// device path uploads (inputs in the case dtype) and reads back (outputs widened to fp32). No CUDA
// needed: fp16 is IEEE binary16 and bf16 the top half of an fp32, both rounded to nearest even
// (the same rounding as __float2half_rn / __float2bfloat16_rn), so these also run in CPU tests.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "harness/core/types.hpp"

namespace sb::cuda {

/// `values` in the layout of `type`: fp32 copied, fp16/bf16 rounded to nearest even (overflow → ±inf).
[[nodiscard]] std::vector<std::byte> encode_elements(dtype type, std::span<const float> values);

/// Widen `out.size()` elements of `type` stored at `bytes` to fp32 (exact). `bytes` must hold
/// out.size() · dtype_bytes(type) bytes.
void decode_elements(dtype type, const std::byte* bytes, std::span<float> out);

/// The values a device sees after encode_elements, widened back to fp32: the identity for fp32,
/// rounding to the half type otherwise. The reference for half-precision cases is computed from these.
[[nodiscard]] std::vector<float> round_through(dtype type, std::span<const float> values);

}  // namespace sb::cuda
