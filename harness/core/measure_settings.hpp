// How a case is measured: warm-up, the sampling stop rule, reference rows, limits.
// Set in a config's optional [measure] table; not part of a case's identity.
#pragma once

#include <cstdint>

#include <nlohmann/json_fwd.hpp>

namespace sb {

struct measure_settings {
  int warmup_calls = 3;            ///< at least this many untimed calls ...
  double warmup_min_s = 0.05;      ///< ... and at least this much time in them
  int min_samples = 5;             ///< sampling stops only after this many samples ...
  double min_time_s = 0.2;         ///< ... and this much sampled time,
  double target_rel_stdev = 0.02;  ///< then when the relative stdev falls below this,
  int max_samples = 1000;          ///< or at these hard caps
  double max_time_s = 5.0;
  double case_timeout_s = 900;     ///< wall time before the worker is killed (status timeout)
  int ref_full_max_seq_len = 1024; ///< above this T the reference uses sampled query rows
  int ref_rows_per_head = 256;     ///< sampled rows per (batch, head) when T is above that
  int threads = 0;                 ///< OpenBLAS / worker threads; 0 = all cores
  std::uint64_t cpu_memory_limit_bytes = 0;  ///< tracked-allocation cap per case (0 = none); above it: oom
  bool allow_tf32 = false;         ///< CUDA: fp32 GEMMs may use TF32 tensor cores (cuda::case_options)
};

void to_json(nlohmann::json& j, const measure_settings& m);
void from_json(const nlohmann::json& j, measure_settings& m);

}  // namespace sb
