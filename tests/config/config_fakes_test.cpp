// Test-only variant and dataset for the config tests, registered once for the whole test binary
// (names start with test_, which the conformance suite skips). The other tests in tests/config use
// them by name: test_config_k_variant uses k and has swept parameters; test_config_dataset has a
// list-valued option, a relative path option and a check() that can refuse a problem.
#include <algorithm>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "harness/core/dataset.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/variant.hpp"

namespace {

/// Output = V: exact attention for a query that puts all its mass on its own position.
class identity_instance final : public sb::attention_instance {
 public:
  explicit identity_instance(const sb::problem& p) : m_p(p) {}
  void run(sb::qkv_view in, float* out, sb::run_context&) override { std::copy_n(in.v, m_p.qkv_elements(), out); }

 private:
  sb::problem m_p;
};

class test_config_k_variant final : public sb::attention_variant {
 public:
  std::string_view name() const override { return "test_config_k_variant"; }
  std::string_view description() const override { return "config tests: uses k, two parameters"; }
  sb::param_schema parameters() const override {
    return {
        {.name = "probes", .type = sb::param_type::integer, .default_value = std::int64_t{4}, .help = "", .min = 1.0,
         .max = 64.0},
        {.name = "mode", .type = sb::param_type::text, .default_value = std::string("fast"), .help = "",
         .choices = {"fast", "slow"}},
    };
  }
  sb::capabilities caps() const override {
    sb::capabilities c;
    c.causal = false;  // so a causal case is one the runner, not the config, must refuse
    c.uses_k = sb::k_usage::keys_per_query;
    return c;
  }
  std::size_t analytic_memory_bytes(const sb::problem& p, const sb::param_set&) const override {
    return p.qkv_elements() * sizeof(float);
  }
  sb::flop_count flops(const sb::problem& p, const sb::param_set&) const override {
    return {sb::dense_equivalent_flops(p), 0.0};
  }
  std::unique_ptr<sb::attention_instance> instantiate(const sb::problem& p, const sb::param_set&,
                                                      sb::device_kind) const override {
    return std::make_unique<identity_instance>(p);
  }
};

/// Options: `scale` (a number or a list of numbers, swept), `path` (resolved against config_dir),
/// `max_seq_len` (check() refuses longer problems).
class test_config_dataset final : public sb::dataset_source {
 public:
  std::string_view name() const override { return "test_config_dataset"; }
  std::string_view description() const override { return "config tests: constant inputs"; }
  std::vector<nlohmann::json> expand(const nlohmann::json& entry, const std::filesystem::path& dir) const override {
    for (const auto& [key, value] : entry.items())
      if (key != "kind" && key != "scale" && key != "path" && key != "max_seq_len")
        throw sb::config_error(fmt::format("unknown option '{}' (allowed: scale, path, max_seq_len)", key));
    nlohmann::json base = entry;
    if (entry.contains("path")) base["path"] = (dir / entry.at("path").get<std::string>()).lexically_normal().string();
    const nlohmann::json scales = entry.value("scale", nlohmann::json(1.0));
    std::vector<nlohmann::json> out;
    for (const auto& s : scales.is_array() ? scales : nlohmann::json::array({scales})) {
      if (!s.is_number()) throw sb::config_error(fmt::format("option 'scale' must be a number, got {}", s.dump()));
      out.push_back(base);
      out.back()["scale"] = s.get<double>();
    }
    return out;
  }
  std::string label(const nlohmann::json& options) const override {
    return fmt::format("test_config_dataset:scale={}", options.at("scale").get<double>());
  }
  std::optional<std::string> check(const nlohmann::json& options, const sb::problem& p) const override {
    const int limit = options.value("max_seq_len", 1 << 24);
    if (p.seq_len > limit) return fmt::format("seq_len {} is above max_seq_len {}", p.seq_len, limit);
    return std::nullopt;
  }
  sb::qkv_host load(const nlohmann::json& options, const sb::problem& p) const override {
    const auto value = static_cast<float>(options.at("scale").get<double>());
    return {std::vector<float>(p.qkv_elements(), value), std::vector<float>(p.qkv_elements(), value),
            std::vector<float>(p.qkv_elements(), value)};
  }
};

}  // namespace

SB_REGISTER_VARIANT(test_config_k_variant)
SB_REGISTER_DATASET(test_config_dataset)

TEST_CASE("config test fakes are registered", "[config]") {
  const auto* v = sb::variant_registry::instance().find("test_config_k_variant");
  REQUIRE(v);
  CHECK(v->caps().uses_k == sb::k_usage::keys_per_query);
  const auto* d = sb::dataset_registry::instance().find("test_config_dataset");
  REQUIRE(d);
  const auto points = d->expand({{"kind", "test_config_dataset"}, {"scale", {1, 2}}}, "/tmp");
  REQUIRE(points.size() == 2);
  CHECK(d->label(points[1]) == "test_config_dataset:scale=2");
}
