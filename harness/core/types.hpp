// Small vocabulary types shared by every layer: dtypes, devices, case status, the attention problem.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb {

enum class dtype { fp32, fp16, bf16 };
enum class device_kind { cpu, cuda };
/// One per CSV row (measurement.md §7).
enum class case_status { ok, oom, error, unsupported, timeout, skipped };

[[nodiscard]] std::string_view to_string(dtype d);
[[nodiscard]] std::string_view to_string(device_kind d);
[[nodiscard]] std::string_view to_string(case_status s);
/// Return nullopt for an unknown name; callers turn that into an error naming the allowed values.
[[nodiscard]] std::optional<dtype> dtype_from_string(std::string_view s);
[[nodiscard]] std::optional<device_kind> device_from_string(std::string_view s);
[[nodiscard]] std::optional<case_status> status_from_string(std::string_view s);
[[nodiscard]] std::size_t dtype_bytes(dtype d);

/// The shape of one attention call. Q, K, V and O are laid out [batch, heads, seq_len, head_dim].
struct problem {
  int batch = 1;
  int heads = 1;
  int seq_len = 1;
  int head_dim = 64;
  bool causal = false;
  dtype type = dtype::fp32;
  /// The shared budget axis; empty for variants that do not use k.
  std::optional<int> k;
  /// Seeds every random part of the variant (features, hashes, random blocks).
  std::uint64_t seed = 0;

  [[nodiscard]] std::size_t qkv_elements() const {
    return static_cast<std::size_t>(batch) * heads * seq_len * head_dim;
  }
  [[nodiscard]] std::size_t rows() const { return static_cast<std::size_t>(batch) * heads * seq_len; }
  /// Softmax scale 1/sqrt(head_dim).
  [[nodiscard]] double scale() const;
};

}  // namespace sb
