// SEA's inference pipeline for one case: estimate → grouped top-k → upsample (FlatCSR) → sparse attention
// → output mix, each stage timed inside run() (std::chrono::steady_clock) and reported through
// run_context::extras, with its own end-to-end timer, the mask statistics and, on the harness's untimed
// accuracy call (ctx.support set), the oracle mass of the selected cells. Also the memory and FLOP
// models the variant declares.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attention_variants/sea/estimators.hpp"
#include "attention_variants/sea/flat_csr.hpp"
#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb::sea {

/// Extra CSV columns, in declaration order.
[[nodiscard]] std::vector<std::string> extra_column_names();

/// A reason (p, c) cannot run, or nullopt.
[[nodiscard]] std::optional<std::string> unsupported_reason(const problem& p, const config& c);

/// Peak tracked bytes of one run() (the harness's output [B, H, T, D] fp32 included). The FlatCSR size is
/// the budget rules' expectation (expected_nnz); everything else is exact.
[[nodiscard]] std::size_t memory_bytes(const problem& p, const config& c);
/// Executed FLOPs of one run() (multiply-add = 2).
[[nodiscard]] double executed_flops(const problem& p, const config& c);

/// Mean over all (b, h, t) of the exact attention mass of the cells behind each head segment of `csr`
/// (the cells of row t whose bins hold its keys): the oracle-Â mass of the selection. Quadratic.
[[nodiscard]] double oracle_cell_mass(const problem& p, const config& c, qkv_view in, const flat_csr& csr);

class pipeline final : public attention_instance {
 public:
  /// Makes the estimator (draws features, loads or draws weights). Throws sb::unsupported_case for a
  /// rejected combination and sb::data_error for a bad weights file.
  pipeline(const problem& p, const config& c);
  void run(qkv_view in, float* out, run_context& ctx) override;
  [[nodiscard]] bool trained() const { return m_est->trained(); }
  [[nodiscard]] const config& cfg() const { return m_c; }

 private:
  problem m_p;
  config m_c;
  std::unique_ptr<estimator> m_est;
};

}  // namespace sb::sea
