#include "harness/core/case_spec.hpp"

#include <fmt/format.h>

namespace sb {

nlohmann::json case_spec::identity() const {
  nlohmann::json j;
  j["variant"] = variant;
  j["params"] = params.to_json();
  j["device"] = to_string(device);
  j["dtype"] = to_string(prob.type);
  j["causal"] = prob.causal;
  j["batch"] = prob.batch;
  j["heads"] = prob.heads;
  j["seq_len"] = prob.seq_len;
  j["head_dim"] = prob.head_dim;
  j["k"] = prob.k ? nlohmann::json(*prob.k) : nlohmann::json(nullptr);
  j["seed"] = prob.seed;
  j["dataset"] = dataset;
  return j;
}

std::string case_spec::case_id() const {
  const std::string text = identity().dump();
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

nlohmann::json case_spec::to_json() const {
  nlohmann::json j = identity();
  j["dataset_label"] = dataset_label;
  j["measure"] = measure;
  j["sweep_index"] = sweep_index;
  return j;
}

case_spec case_spec::from_json(const nlohmann::json& j) {
  case_spec c;
  c.variant = j.at("variant").get<std::string>();
  c.params = param_set::from_json(j.at("params"));
  auto dev = device_from_string(j.at("device").get<std::string>());
  auto dt = dtype_from_string(j.at("dtype").get<std::string>());
  if (!dev || !dt) throw std::invalid_argument("case JSON has an unknown device or dtype");
  c.device = *dev;
  c.prob.type = *dt;
  c.prob.causal = j.at("causal").get<bool>();
  c.prob.batch = j.at("batch").get<int>();
  c.prob.heads = j.at("heads").get<int>();
  c.prob.seq_len = j.at("seq_len").get<int>();
  c.prob.head_dim = j.at("head_dim").get<int>();
  if (!j.at("k").is_null()) c.prob.k = j.at("k").get<int>();
  c.prob.seed = j.at("seed").get<std::uint64_t>();
  c.dataset = j.at("dataset");
  c.dataset_label = j.value("dataset_label", std::string{});
  c.measure = j.value("measure", measure_settings{});
  c.sweep_index = j.value("sweep_index", 0);
  return c;
}

}  // namespace sb
