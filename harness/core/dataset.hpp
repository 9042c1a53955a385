// The dataset contract: a named source of Q/K/V (a seeded generator or a file loader), registered
// like variants. Adding a dataset is one file in datasets/.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"  // SB_CONCAT

namespace sb {

/// Host copies of the inputs, each [batch, heads, seq_len, head_dim] row-major fp32.
struct qkv_host {
  std::vector<float> q, k, v;
};

class dataset_source {
 public:
  virtual ~dataset_source() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual std::string_view description() const = 0;
  /// Validate a config entry (a JSON object whose "kind" is name()) and expand list-valued sweepable
  /// options into one canonical object per point. Relative paths are resolved against config_dir.
  /// Throws sb::config_error naming the key and the allowed values.
  [[nodiscard]] virtual std::vector<nlohmann::json> expand(const nlohmann::json& entry,
                                                           const std::filesystem::path& config_dir) const = 0;
  /// Short label for the CSV `dataset` column, e.g. "structured:local" or "npy:brown_lm_qkv.npy:layer=3".
  [[nodiscard]] virtual std::string label(const nlohmann::json& options) const = 0;
  /// Why these options cannot serve this problem (file too short, too few heads...), or nullopt.
  [[nodiscard]] virtual std::optional<std::string> check(const nlohmann::json& /*options*/, const problem& /*p*/) const {
    return std::nullopt;
  }
  /// Produce Q, K, V for the problem. Deterministic in (options, problem shape, seed). Throws sb::data_error.
  [[nodiscard]] virtual qkv_host load(const nlohmann::json& options, const problem& p) const = 0;
};

class dataset_registry {
 public:
  static dataset_registry& instance();
  bool add(std::unique_ptr<dataset_source> d);
  [[nodiscard]] const dataset_source* find(std::string_view name) const;
  [[nodiscard]] std::vector<const dataset_source*> all() const;
  [[nodiscard]] std::string names() const;

 private:
  std::vector<std::unique_ptr<dataset_source>> m_sources;
};

}  // namespace sb

#define SB_REGISTER_DATASET(type)                                                          \
  namespace {                                                                              \
  [[maybe_unused]] const bool SB_CONCAT(sb_registered_dataset_, __LINE__) =                \
      ::sb::dataset_registry::instance().add(std::make_unique<type>());                    \
  }
