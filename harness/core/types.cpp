// to_string / from_string pairs for the vocabulary types.
#include "harness/core/types.hpp"

#include <array>
#include <cmath>

namespace sb {
namespace {
template <typename E, std::size_t N>
std::optional<E> lookup(std::string_view s, const std::array<std::pair<E, std::string_view>, N>& table) {
  for (const auto& [value, name] : table)
    if (name == s) return value;
  return std::nullopt;
}
template <typename E, std::size_t N>
std::string_view name_of(E e, const std::array<std::pair<E, std::string_view>, N>& table) {
  for (const auto& [value, name] : table)
    if (value == e) return name;
  return "?";
}
constexpr std::array<std::pair<dtype, std::string_view>, 3> dtype_names{
    {{dtype::fp32, "fp32"}, {dtype::fp16, "fp16"}, {dtype::bf16, "bf16"}}};
constexpr std::array<std::pair<device_kind, std::string_view>, 2> device_names{
    {{device_kind::cpu, "cpu"}, {device_kind::cuda, "cuda"}}};
constexpr std::array<std::pair<case_status, std::string_view>, 6> status_names{
    {{case_status::ok, "ok"},
     {case_status::oom, "oom"},
     {case_status::error, "error"},
     {case_status::unsupported, "unsupported"},
     {case_status::timeout, "timeout"},
     {case_status::skipped, "skipped"}}};
}  // namespace

std::string_view to_string(dtype d) { return name_of(d, dtype_names); }
std::string_view to_string(device_kind d) { return name_of(d, device_names); }
std::string_view to_string(case_status s) { return name_of(s, status_names); }
std::optional<dtype> dtype_from_string(std::string_view s) { return lookup(s, dtype_names); }
std::optional<device_kind> device_from_string(std::string_view s) { return lookup(s, device_names); }
std::optional<case_status> status_from_string(std::string_view s) { return lookup(s, status_names); }

std::size_t dtype_bytes(dtype d) { return d == dtype::fp32 ? 4 : 2; }

double problem::scale() const { return 1.0 / std::sqrt(static_cast<double>(head_dim)); }

}  // namespace sb
