// SEA (Lee et al., ICLR 2024; "perlin" in the official code): the resolved configuration of one case and
// the parameter schema it comes from. Every stage function takes a `sea::config`, so the stages can be
// called and tested without the variant wrapper. docs/sea.md explains every parameter and default.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "harness/core/params.hpp"
#include "harness/core/types.hpp"

namespace sb::sea {

/// Stage 1 backends (sea-algorithm.md §3–§5 and §19).
enum class estimator_kind { performer_hist, pooled, oracle, performer };
/// Stage 2 budget modes (§6).
enum class topk_mode { causal_batch, query, batch };
/// Stage 3 paths (§7): `nearest` = the official dense path, `csr` = the official FlatCSR path.
enum class upsample_mode { nearest, csr };
/// Stage 4 on CUDA: `fused` = one kernel that gathers each query's keys and values once; `cusparse` =
/// cusparseSDDMM → row softmax → cusparseSpMM on per-(batch, head) CSR views. The CPU has one
/// implementation and accepts both values (its output does not depend on this parameter).
enum class sparse_impl { fused, cusparse };
/// Stage 5 (§10): `sparse` = gates off, pure sparse attention; `mix` = the paper's gated mix.
enum class output_mode { sparse, mix };

[[nodiscard]] std::string_view to_string(estimator_kind e);
[[nodiscard]] std::string_view to_string(topk_mode m);
[[nodiscard]] std::string_view to_string(upsample_mode m);
[[nodiscard]] std::string_view to_string(output_mode m);
[[nodiscard]] std::string_view to_string(sparse_impl s);

/// Paper defaults (sea-algorithm.md §15) where the paper has one; see docs/sea.md.
inline constexpr int default_compressed_width = 128;  ///< K, the config-class and BERT value
inline constexpr int default_nbf = 8;                 ///< OPT and long-sequence benchmark: m = int(d·ln d / 8)

struct config {
  estimator_kind estimator = estimator_kind::performer_hist;
  int K = default_compressed_width;       ///< compressed width (bins per query row)
  int k = 64;                             ///< per-head key budget (the harness's k axis)
  topk_mode topk = topk_mode::causal_batch;
  upsample_mode upsample = upsample_mode::csr;
  output_mode output = output_mode::sparse;
  double k_oversample = 1.0;
  int query_skip = 1;                     ///< s: row t uses estimator row s·floor(t/s)
  int nbf = default_nbf;                  ///< Performer feature divisor
  std::string weights;                    ///< safetensors path for estimator=performer ("" = seeded random)
  bool pooled_mass_term = true;           ///< pooled: add log n_b to the bin score (§19.2)
  sparse_impl sparse = sparse_impl::fused;  ///< stage 4 on CUDA (ignored on the CPU)

  /// Rows of the compressed map Â: one per estimator row, ceil(T / query_skip).
  [[nodiscard]] int estimator_rows(int seq_len) const { return (seq_len + query_skip - 1) / query_skip; }
};

/// Random features of the Performer stages: m = int(d·ln d / nbf) (at least 1).
[[nodiscard]] int performer_features(int head_dim, int nbf);

/// The variant's parameter schema (names, defaults, ranges, choices, help).
[[nodiscard]] param_schema parameter_schema();

/// Resolve a validated parameter set and the problem's k into a config. Throws std::logic_error when a
/// parameter is missing (the schema resolves defaults first) and sb::unsupported_case when p.k is unset.
[[nodiscard]] config make_config(const problem& p, const param_set& params);

}  // namespace sb::sea
