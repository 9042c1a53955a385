// The variant contract (see docs/adding-a-variant.md). A variant is a descriptor (name, parameter
// schema, capabilities, memory and FLOP models) that makes a per-case *instance*; the instance's
// run() is what the harness times. Variants compute and nothing else: no timing, printing or exits.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/params.hpp"
#include "harness/core/types.hpp"

namespace sb {

/// How a variant consumes the shared `k` axis of a sweep.
enum class k_usage {
  none,                 ///< k is ignored; the variant is not expanded over k (its k cell is empty)
  keys_per_query,       ///< about k keys per (head, query)
  bucket_size,          ///< k is a bucket / chunk / block size
  grouped_per_query,    ///< H·k keys per query shared by all heads (SEA-style grouped budget)
};
[[nodiscard]] std::string_view to_string(k_usage u);

struct capabilities {
  bool causal = true;
  bool non_causal = true;
  bool cpu = true;
  bool cuda = false;
  std::vector<dtype> dtypes{dtype::fp32};
  k_usage uses_k = k_usage::none;
  std::string k_meaning;          ///< one line for `seabench list`, e.g. "keys i-k+1..i"
  bool exposes_support = false;   ///< run() can report which keys each (batch, head, query) attended
  std::string reference_variant;  ///< for GPU-only variants: the CPU variant that checks them
  bool randomized = false;        ///< draws random parts from the seed (features, hashes, blocks)
  /// Causal canary tolerance: changing K/V after position i may move row i by at most this much
  /// (relative). 0 = bitwise (sparse methods); kernel methods may need ~1e-6 for fp32 rounding.
  double causal_canary_rel_tol = 0.0;
};

/// A budget setting (parameter overrides and k) used by the conformance suite's properties.
struct budget_setting {
  std::map<std::string, param_value> params;
  std::optional<int> k;
};

struct flop_count {
  double dense_equiv = 0;  ///< FlashAttention convention: 4·B·H·T²·d, halved when causal
  double executed = 0;     ///< what this variant actually computes (multiply-add = 2)
};

/// Which keys each row attended: CSR over rows r = (b·H + h)·T + i, keys sorted ascending.
struct attention_support {
  std::vector<std::int64_t> row_ptr;  ///< size B·H·T + 1
  std::vector<std::int32_t> cols;
  [[nodiscard]] std::size_t rows() const { return row_ptr.empty() ? 0 : row_ptr.size() - 1; }
};

/// Host or device pointers to Q, K, V ([B, H, T, D] each), according to the instance's device.
struct qkv_view {
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
};

/// Per-call context: what the harness asks for and where the variant reports back.
struct run_context {
  /// Set on the (untimed) accuracy call of variants that expose their support.
  attention_support* support = nullptr;
  /// Extra numeric columns (declared in attention_variant::extra_columns) for this call.
  std::map<std::string, double> extras;
};

/// A variant prepared for one case: random features drawn, weights loaded, plans made.
class attention_instance {
 public:
  virtual ~attention_instance() = default;
  /// out: [B, H, T, D], allocated by the harness. Must be deterministic for a given case.
  virtual void run(qkv_view in, float* out, run_context& ctx) = 0;
};

class attention_variant {
 public:
  virtual ~attention_variant() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual std::string_view description() const = 0;
  [[nodiscard]] virtual param_schema parameters() const { return {}; }
  [[nodiscard]] virtual capabilities caps() const = 0;
  /// Extra CSV columns this variant reports through run_context::extras (snake_case, unit in name).
  [[nodiscard]] virtual std::vector<std::string> extra_columns() const { return {}; }
  /// A reason this case cannot run (beyond what caps() says), or nullopt. Becomes an `unsupported` row.
  [[nodiscard]] virtual std::optional<std::string> check(const problem&, const param_set&) const { return {}; }
  /// Bytes this variant allocates above the inputs for one call, output included.
  [[nodiscard]] virtual std::size_t analytic_memory_bytes(const problem& p, const param_set& params) const = 0;
  [[nodiscard]] virtual flop_count flops(const problem& p, const param_set& params) const = 0;
  /// A setting under which this variant computes exact softmax attention on `p` (e.g. window with
  /// k ≥ T), or nullopt when no budget makes it exact. The conformance suite checks it against the
  /// fp64 reference.
  [[nodiscard]] virtual std::optional<budget_setting> exact_setting(const problem& /*p*/) const {
    return std::nullopt;
  }
  /// Increasing budgets (more features, hashes, keys...) under which the error should fall; empty
  /// when the variant has no budget. The conformance suite checks the seed-averaged error falls.
  [[nodiscard]] virtual std::vector<budget_setting> budget_ladder(const problem& /*p*/) const { return {}; }
  /// Untimed set-up for one case. Throws sb::unsupported_case for combinations found only here.
  [[nodiscard]] virtual std::unique_ptr<attention_instance> instantiate(const problem& p, const param_set& params,
                                                                        device_kind device) const = 0;
};

/// Dense-equivalent FLOPs (FlashAttention's benchmark convention).
[[nodiscard]] double dense_equivalent_flops(const problem& p);

/// CPU instances compute in fp32; half types run on CUDA. Throws sb::unsupported_case naming the
/// variant and the dtype otherwise (called by each variant's CPU instantiate()).
void require_cpu_fp32(std::string_view variant, const problem& p);

/// Why `v` cannot run `p` on `device` from its capabilities and check(), or nullopt.
[[nodiscard]] std::optional<std::string> unsupported_reason(const attention_variant& v, const problem& p,
                                                            const param_set& params, device_kind device);

class variant_registry {
 public:
  static variant_registry& instance();
  /// Returns true so it can initialise a static (see SB_REGISTER_VARIANT). Duplicate names abort.
  bool add(std::unique_ptr<attention_variant> v);
  [[nodiscard]] const attention_variant* find(std::string_view name) const;
  /// Sorted by name.
  [[nodiscard]] std::vector<const attention_variant*> all() const;
  [[nodiscard]] std::string names() const;  ///< "a, b, c" for error messages

 private:
  std::vector<std::unique_ptr<attention_variant>> m_variants;
};

}  // namespace sb

#define SB_CONCAT_INNER(a, b) a##b
#define SB_CONCAT(a, b) SB_CONCAT_INNER(a, b)
/// Register a variant class (default-constructible) at static-initialisation time.
#define SB_REGISTER_VARIANT(type)                                                          \
  namespace {                                                                              \
  [[maybe_unused]] const bool SB_CONCAT(sb_registered_, __LINE__) =                        \
      ::sb::variant_registry::instance().add(std::make_unique<type>());                    \
  }
