// structured: seeded Q, K, V whose exact attention has a known shape, so that sparse methods differ.
//
// Per head g = b·H + h, with D = head_dim, m = 2·floor(3D/8) position dims, R = m/2 frequencies,
// T = seq_len, τ = 1/sqrt(D), n(stream, e) = the Philox normal of element e (Box–Muller on draws 2e,
// 2e+1, as in gaussian), A = g·2^30 the head's base element in stream dataset_aux:
//   ω_r   = n(aux, A + r) / ℓ                                   r < R     (random Fourier frequencies)
//   p(i)  = R^{-1/2} · [cos ω_0 i, sin ω_0 i, …, cos ω_{R-1} i, sin ω_{R-1} i]   so p(i)·p(j) ≈ e^{-(i-j)²/2ℓ²}
//   u_c   = sign(n(aux, A + 2^20 + c)) / sqrt(D − m)   c < D − m      (the hitter direction, unit norm)
//   S     = n_h distinct positions: for t = 0, 1, … the raw aux draw w_t at index 2·(A + 2^21) + t
//           proposes floor((w_t + 0.5)/2^32 · span), span = clamp(ceil(hitter_span·T), n_h, T);
//           repeats are skipped
//   Q[i]  = a_L·[p(i), 0] + a_H·[0, u]           + σ·n(q, e)
//   K[j]  = a_L·[p(j), 0] + a_H·[0, u]·[j ∈ S]   + σ·n(k, e)
//   V[j]  = n(v, e)
// with e the element's flat index in [B, H, T, D], a_L = sqrt(β_L/τ) for local and mixed (else 0),
// a_H = sqrt(β_H/τ) for heavy_hitter and mixed (else 0). So τ·Q[i]·K[j] = β_L·κ(i−j) + β_H·[j ∈ S] + noise.
// The gaps grow with log T so that the share of the mass each mechanism takes is about the same at
// every T: β_H = max(0, s_H + ln(T/n_h)) (hitters' odds e^{s_H} against the rest), and β_L solves
// β − β²/2m − ½ ln β = s_L + ln(T/(ℓ·sqrt(2π))) on [1, m/2] (near-diagonal odds e^{s_L}, counting the
// far-key noise floor κ ~ N(0, 1/m) of random features). Hitters lie in the first quarter (by default)
// so that most causal queries see them and most queries are far from them. All values stay O(1)
// (|x| ≲ 5 for D = 64 up to T = 64k), so fp16 is safe. Details and measured shares: docs/datasets.md.
#include "datasets/structured.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "datasets/common.hpp"
#include "harness/core/dataset.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/rng.hpp"

namespace sb::datasets {
namespace {

constexpr std::uint64_t aux_per_head = std::uint64_t{1} << 30;   // aux normal elements reserved per head
constexpr std::uint64_t aux_direction = std::uint64_t{1} << 20;  // offset of u's components
constexpr std::uint64_t aux_hitters = std::uint64_t{1} << 21;    // offset of the hitter draws

param_schema structured_schema() {
  return {
      {.name = "preset", .type = param_type::text, .default_value = std::string("local"),
       .help = "attention shape", .choices = {"local", "heavy_hitter", "mixed"}},
      {.name = "length_scale", .type = param_type::real, .default_value = 16.0,
       .help = "ℓ, width of the local kernel exp(-Δ²/2ℓ²) in positions", .min = 0.5, .max = 1e6},
      {.name = "local_strength", .type = param_type::real, .default_value = 2.5,
       .help = "s_L, log-odds of the near-diagonal keys against the rest", .min = -10.0, .max = 10.0},
      {.name = "hitter_strength", .type = param_type::real, .default_value = 2.5,
       .help = "s_H, log-odds of the hitter keys against the rest", .min = -10.0, .max = 10.0},
      {.name = "hitters", .type = param_type::integer, .default_value = std::int64_t{4},
       .help = "n_h, heavy-hitter keys per head", .min = 1.0, .max = 4096.0},
      {.name = "hitter_span", .type = param_type::real, .default_value = 0.25,
       .help = "hitters lie in the first ceil(hitter_span·T) positions", .min = 1e-6, .max = 1.0},
      {.name = "noise", .type = param_type::real, .default_value = 0.5,
       .help = "σ, std of the iid noise added to Q and K", .min = 0.0, .max = 4.0},
  };
}

const param_schema& schema() {
  static const param_schema s = structured_schema();
  return s;
}

}  // namespace

int structured_position_dims(int head_dim) { return 2 * ((3 * head_dim) / 8); }

structured_options structured_options_of(const nlohmann::json& options) {
  const param_set s = options_of(options, "structured", schema());
  structured_options o;
  o.preset = s.get_text("preset");
  o.length_scale = s.get_real("length_scale");
  o.local_strength = s.get_real("local_strength");
  o.hitter_strength = s.get_real("hitter_strength");
  o.hitters = static_cast<int>(s.get_int("hitters"));
  o.hitter_span = s.get_real("hitter_span");
  o.noise = s.get_real("noise");
  return o;
}

double structured_local_gap(const structured_options& o, int seq_len, int head_dim) {
  // Model of one query's softmax sum with logits β·κ(Δ): the near keys give about e^β·ℓ·sqrt(2π/β)
  // (a Gaussian sum), the far keys T·e^{β²/2m} (κ of a far key is roughly N(0, 1/m)). Their log-ratio
  // h(β) − ln(T / (ℓ·sqrt(2π))) with h(β) = β − β²/2m − ½·ln β should equal s_L; h increases on
  // [1, m/2], so bisect there (and clamp when the target is outside h's range).
  const double m = structured_position_dims(head_dim);
  const auto h = [m](double b) { return b - b * b / (2 * m) - 0.5 * std::log(b); };
  const double target =
      o.local_strength + std::log(static_cast<double>(seq_len) / (o.length_scale * std::sqrt(2 * std::numbers::pi)));
  double lo = 1.0, hi = std::max(1.0, m / 2);
  if (target <= h(lo)) return lo;
  if (target >= h(hi)) return hi;
  for (int it = 0; it < 100; ++it) {
    const double mid = 0.5 * (lo + hi);
    (h(mid) < target ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double structured_hitter_gap(const structured_options& o, int seq_len) {
  return std::max(0.0, o.hitter_strength + std::log(static_cast<double>(seq_len) / std::min(o.hitters, seq_len)));
}

std::vector<int> structured_hitter_positions(const structured_options& o, std::uint64_t seed, std::uint64_t head,
                                             int seq_len) {
  if (o.preset == "local") return {};
  const int n = std::min(o.hitters, seq_len);
  const auto span = static_cast<int>(std::clamp<double>(std::ceil(o.hitter_span * seq_len), n, seq_len));
  const counter_rng rng(seed, rng_stream::dataset_aux);
  const std::uint64_t first_draw = 2 * (head * aux_per_head + aux_hitters);
  std::vector<int> pos;
  // Draw t gives candidate floor(u_t · span); repeats are skipped (span ≥ n, so this ends).
  for (std::uint64_t t = 0; static_cast<int>(pos.size()) < n; ++t) {
    const double u = (static_cast<double>(rng.at(first_draw + t)) + 0.5) * (1.0 / 4294967296.0);
    const int cand = std::min(span - 1, static_cast<int>(u * span));
    if (std::find(pos.begin(), pos.end(), cand) == pos.end()) pos.push_back(cand);
  }
  std::sort(pos.begin(), pos.end());
  return pos;
}

namespace {

class structured_dataset final : public dataset_source {
 public:
  std::string_view name() const override { return "structured"; }
  std::string_view description() const override {
    return "seeded Q, K with a known attention shape: local (near-diagonal), heavy_hitter (a few far keys "
           "take most mass) or mixed (both)";
  }

  std::vector<nlohmann::json> expand(const nlohmann::json& entry, const std::filesystem::path&) const override {
    std::vector<std::string> all;
    for (const auto& spec : schema().specs()) all.push_back(spec.name);
    return expand_options(entry, name(), schema(), all);
  }

  std::string label(const nlohmann::json& options) const override {
    const param_set s = options_of(options, name(), schema());
    return fmt::format("structured:{}{}", s.get_text("preset"), non_default_suffix(s, schema(), {"preset"}));
  }

  std::optional<std::string> check(const nlohmann::json& options, const problem& p) const override {
    const structured_options o = structured_options_of(options);
    if (p.head_dim < 8) return fmt::format("structured needs head_dim >= 8 (got {})", p.head_dim);
    if (o.preset != "local" && o.hitters > p.seq_len)
      return fmt::format("structured: hitters = {} exceeds seq_len = {}", o.hitters, p.seq_len);
    return std::nullopt;
  }

  qkv_host load(const nlohmann::json& options, const problem& p) const override {
    if (auto why = check(options, p)) throw data_error(*why);
    const structured_options o = structured_options_of(options);
    const bool local = o.preset != "heavy_hitter";
    const bool hitter = o.preset != "local";
    const int d = p.head_dim, t = p.seq_len, m = structured_position_dims(d), r = m / 2;
    const double root_d = std::sqrt(static_cast<double>(d));
    const double a_local = local ? std::sqrt(structured_local_gap(o, t, d) * root_d) : 0.0;
    const double a_hitter = hitter ? std::sqrt(structured_hitter_gap(o, t) * root_d) : 0.0;

    qkv_host out;
    out.q.resize(p.qkv_elements());
    out.k.resize(p.qkv_elements());
    out.v.resize(p.qkv_elements());
    fill_normal(p.seed, rng_stream::dataset_q, 0, out.q, o.noise);
    fill_normal(p.seed, rng_stream::dataset_k, 0, out.k, o.noise);
    fill_normal(p.seed, rng_stream::dataset_v, 0, out.v, 1.0);

    const std::uint64_t heads = static_cast<std::uint64_t>(p.batch) * p.heads;
    for (std::uint64_t g = 0; g < heads; ++g) {
      const std::uint64_t base = g * aux_per_head;
      float* q = out.q.data() + g * t * d;
      float* k = out.k.data() + g * t * d;
      if (local) {
        std::vector<double> omega(r);
        for (int f = 0; f < r; ++f)
          omega[f] = philox_normal(p.seed, rng_stream::dataset_aux, base + f) / o.length_scale;
        const double amp = a_local / std::sqrt(static_cast<double>(r));
        for (int i = 0; i < t; ++i)
          for (int f = 0; f < r; ++f) {
            const double c = amp * std::cos(omega[f] * i), s = amp * std::sin(omega[f] * i);
            const std::size_t at = static_cast<std::size_t>(i) * d + 2 * f;
            q[at] += static_cast<float>(c);
            q[at + 1] += static_cast<float>(s);
            k[at] += static_cast<float>(c);
            k[at + 1] += static_cast<float>(s);
          }
      }
      if (hitter) {
        // Random signs rather than a normal direction: no component stands out, which keeps fp16 safe.
        std::vector<double> u(d - m);
        const double amp = a_hitter / std::sqrt(static_cast<double>(d - m));
        for (int c = 0; c < d - m; ++c)
          u[c] = philox_normal(p.seed, rng_stream::dataset_aux, base + aux_direction + c) < 0 ? -amp : amp;
        for (int i = 0; i < t; ++i)
          for (int c = 0; c < d - m; ++c) q[static_cast<std::size_t>(i) * d + m + c] += static_cast<float>(u[c]);
        for (int j : structured_hitter_positions(o, p.seed, g, t))
          for (int c = 0; c < d - m; ++c) k[static_cast<std::size_t>(j) * d + m + c] += static_cast<float>(u[c]);
      }
    }
    return out;
  }
};

}  // namespace
}  // namespace sb::datasets

SB_REGISTER_DATASET(sb::datasets::structured_dataset)
