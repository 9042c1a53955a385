// Optional second base class of a variant whose CUDA implementation allocates differently from its
// CPU one (e.g. dense_stream: CPU score tiles in host memory, none on the device). The device path
// asks for the CUDA model through cuda_analytic_memory_bytes(); variants without it use
// attention_variant::analytic_memory_bytes for both devices. Host-only; compiled in every build.
#pragma once

#include <cstddef>

#include "harness/core/params.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb::cuda {

class device_memory_model {
 public:
  virtual ~device_memory_model() = default;
  /// Bytes the CUDA implementation allocates from the device pool above the inputs for one call,
  /// output (in the case dtype) included.
  [[nodiscard]] virtual std::size_t cuda_analytic_memory_bytes(const problem& p, const param_set& params) const = 0;
};

/// The CUDA analytic model of `v` when it has one, else its (device-independent) analytic model.
[[nodiscard]] inline std::size_t cuda_analytic_memory_bytes(const attention_variant& v, const problem& p,
                                                            const param_set& params) {
  if (const auto* m = dynamic_cast<const device_memory_model*>(&v)) return m->cuda_analytic_memory_bytes(p, params);
  return v.analytic_memory_bytes(p, params);
}

}  // namespace sb::cuda
