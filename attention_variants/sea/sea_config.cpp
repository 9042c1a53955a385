#include "attention_variants/sea/sea_config.hpp"

#include <algorithm>
#include <cmath>

#include "harness/core/errors.hpp"

namespace sb::sea {

std::string_view to_string(estimator_kind e) {
  switch (e) {
    case estimator_kind::performer_hist: return "performer_hist";
    case estimator_kind::pooled: return "pooled";
    case estimator_kind::oracle: return "oracle";
    case estimator_kind::performer: return "performer";
  }
  return "?";
}
std::string_view to_string(topk_mode m) {
  switch (m) {
    case topk_mode::causal_batch: return "causal_batch";
    case topk_mode::query: return "query";
    case topk_mode::batch: return "batch";
  }
  return "?";
}
std::string_view to_string(upsample_mode m) { return m == upsample_mode::nearest ? "nearest" : "csr"; }
std::string_view to_string(output_mode m) { return m == output_mode::sparse ? "sparse" : "mix"; }
std::string_view to_string(sparse_impl s) { return s == sparse_impl::fused ? "fused" : "cusparse"; }

int performer_features(int head_dim, int nbf) {
  const double d = head_dim;
  return std::max(1, static_cast<int>(d * std::log(d) / nbf));
}

param_schema parameter_schema() {
  using s = std::string;
  return {
      {.name = "estimator", .type = param_type::text, .default_value = s("performer_hist"),
       .help = "compressed-attention estimator: performer_hist (training-free Performer histogram), pooled "
               "(mean-pooled keys per bin), oracle (exact attention per bin; quadratic), performer (the paper's "
               "Performer + encoder + CNN; trained only with `weights`)",
       .choices = {"performer_hist", "pooled", "oracle", "performer"}},
      {.name = "K", .type = param_type::integer, .default_value = std::int64_t{default_compressed_width},
       .help = "compressed width: bins per query row (paper config default 128; OPT runs 256)", .min = 1.0,
       .max = 65536.0},
      {.name = "topk_mode", .type = param_type::text, .default_value = s("causal_batch"),
       .help = "grouped top-k: causal_batch (per query, heads share B_t cells), query (per head and query), "
               "batch (per sample over all heads and queries; non-causal only)",
       .choices = {"causal_batch", "query", "batch"}},
      {.name = "upsample", .type = param_type::text, .default_value = s("csr"),
       .help = "cell-to-key upsampling: csr (official FlatCSR path, round spans, <= k keys per cell) or nearest "
               "(official dense path, every key of a selected cell)",
       .choices = {"csr", "nearest"}},
      {.name = "output", .type = param_type::text, .default_value = s("sparse"),
       .help = "sparse (gates off: pure sparse attention) or mix (paper: sigmoid row gate and gated blend with "
               "the average of V; needs estimator=performer with trained weights)",
       .choices = {"sparse", "mix"}},
      {.name = "k_oversample", .type = param_type::real, .default_value = 1.0,
       .help = "multiplies the cell budget; each selected cell then keeps ceil(n/k_oversample) of its n keys, "
               "strided from the span's right end", .min = 1.0, .max = 64.0},
      {.name = "query_skip", .type = param_type::integer, .default_value = std::int64_t{1},
       .help = "s: the estimator runs on rows 0, s, 2s, ...; row t uses estimator row s*floor(t/s)", .min = 1.0,
       .max = 1048576.0},
      {.name = "nbf", .type = param_type::integer, .default_value = std::int64_t{default_nbf},
       .help = "Performer feature divisor: m = int(d*ln(d)/nbf) random features (paper: 8 for OPT and the "
               "long-sequence benchmark)", .min = 1.0, .max = 1024.0},
      {.name = "weights", .type = param_type::text, .default_value = s(""),
       .help = "safetensors file with the trained estimator (estimator=performer; docs/sea-weights.md); empty = "
               "seeded random weights, rows say estimator_trained=0"},
      {.name = "pooled_mass_term", .type = param_type::boolean, .default_value = true,
       .help = "pooled: score a bin as q.mean(k)/sqrt(d) + log n_b (true) or without the log n_b mass term"},
      {.name = "sparse_impl", .type = param_type::text, .default_value = s("fused"),
       .help = "sparse attention on CUDA: fused (one kernel gathers each query's keys and values once) or cusparse "
               "(cusparseSDDMM, row softmax, cusparseSpMM per batch and head); the CPU accepts both with identical "
               "output",
       .choices = {"fused", "cusparse"}},
  };
}

namespace {
template <typename E, std::size_t N>
E parse_choice(const std::string& name, const std::string& value, const std::pair<E, const char*> (&table)[N]) {
  for (const auto& [e, n] : table)
    if (value == n) return e;
  throw config_error("sea: parameter '" + name + "' has unknown value '" + value + "'");
}
}  // namespace

config make_config(const problem& p, const param_set& params) {
  static constexpr std::pair<estimator_kind, const char*> estimators[] = {
      {estimator_kind::performer_hist, "performer_hist"},
      {estimator_kind::pooled, "pooled"},
      {estimator_kind::oracle, "oracle"},
      {estimator_kind::performer, "performer"}};
  static constexpr std::pair<topk_mode, const char*> modes[] = {
      {topk_mode::causal_batch, "causal_batch"}, {topk_mode::query, "query"}, {topk_mode::batch, "batch"}};
  static constexpr std::pair<upsample_mode, const char*> ups[] = {{upsample_mode::nearest, "nearest"},
                                                                   {upsample_mode::csr, "csr"}};
  static constexpr std::pair<output_mode, const char*> outs[] = {{output_mode::sparse, "sparse"},
                                                                  {output_mode::mix, "mix"}};
  if (!p.k) throw unsupported_case("sea needs a value of k (the per-head key budget)");
  if (*p.k < 1) throw unsupported_case("sea needs k >= 1");
  config c;
  c.estimator = parse_choice("estimator", params.get_text("estimator"), estimators);
  c.K = static_cast<int>(params.get_int("K"));
  c.k = *p.k;
  c.topk = parse_choice("topk_mode", params.get_text("topk_mode"), modes);
  c.upsample = parse_choice("upsample", params.get_text("upsample"), ups);
  c.output = parse_choice("output", params.get_text("output"), outs);
  c.k_oversample = params.get_real("k_oversample");
  c.query_skip = static_cast<int>(params.get_int("query_skip"));
  c.nbf = static_cast<int>(params.get_int("nbf"));
  c.weights = params.get_text("weights");
  c.pooled_mass_term = params.get_bool("pooled_mass_term");
  static constexpr std::pair<sparse_impl, const char*> impls[] = {{sparse_impl::fused, "fused"},
                                                                   {sparse_impl::cusparse, "cusparse"}};
  c.sparse = parse_choice("sparse_impl", params.get_text("sparse_impl"), impls);
  return c;
}

}  // namespace sb::sea
