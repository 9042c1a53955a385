// gaussian: iid normal Q, K, V. Element e (flat index over [B, H, T, D]) of tensor X ∈ {Q, K, V} is
//   X[e] = scale · sqrt(-2 ln u1) · cos(2π u2),  u_i = (draw_i + 0.5) / 2^32,
// with draw_1, draw_2 the Philox draws at absolute indices 2e and 2e+1 of stream dataset_q / _k / _v
// under the problem's seed, so a GPU generator reproduces it. On such inputs attention is nearly
// uniform and every sparse method looks alike; the structured dataset is the discriminating one.
#include <fmt/format.h>

#include "datasets/common.hpp"
#include "harness/core/dataset.hpp"
#include "harness/core/rng.hpp"

namespace sb {
namespace {

param_schema gaussian_schema() {
  return {
      {.name = "scale", .type = param_type::real, .default_value = 1.0,
       .help = "standard deviation of every element", .min = 0.0, .max = 100.0},
  };
}

class gaussian_dataset final : public dataset_source {
 public:
  std::string_view name() const override { return "gaussian"; }
  std::string_view description() const override {
    return "iid N(0, scale²) Q, K, V drawn from Philox streams (element e: Box–Muller on draws 2e, 2e+1)";
  }

  std::vector<nlohmann::json> expand(const nlohmann::json& entry, const std::filesystem::path&) const override {
    return datasets::expand_options(entry, name(), m_schema, {"scale"});
  }

  std::string label(const nlohmann::json& options) const override {
    return "gaussian" + datasets::non_default_suffix(datasets::options_of(options, name(), m_schema), m_schema);
  }

  qkv_host load(const nlohmann::json& options, const problem& p) const override {
    const double scale = datasets::options_of(options, name(), m_schema).get_real("scale");
    qkv_host out;
    for (auto [tensor, stream] : {std::pair{&out.q, rng_stream::dataset_q}, std::pair{&out.k, rng_stream::dataset_k},
                                  std::pair{&out.v, rng_stream::dataset_v}}) {
      tensor->resize(p.qkv_elements());
      datasets::fill_normal(p.seed, stream, 0, *tensor, scale);
    }
    return out;
  }

 private:
  param_schema m_schema = gaussian_schema();
};

}  // namespace
}  // namespace sb

SB_REGISTER_DATASET(sb::gaussian_dataset)
