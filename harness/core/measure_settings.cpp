#include "harness/core/measure_settings.hpp"

#include <nlohmann/json.hpp>

namespace sb {

// One list of fields for both directions, so a new setting cannot be forgotten in one of them.
#define SB_MEASURE_FIELDS(X)                                                                            \
  X(warmup_calls) X(warmup_min_s) X(min_samples) X(min_time_s) X(target_rel_stdev) X(max_samples)      \
  X(max_time_s) X(case_timeout_s) X(ref_full_max_seq_len) X(ref_rows_per_head) X(threads)              \
  X(cpu_memory_limit_bytes) X(allow_tf32)

void to_json(nlohmann::json& j, const measure_settings& m) {
#define SB_TO(f) j[#f] = m.f;
  SB_MEASURE_FIELDS(SB_TO)
#undef SB_TO
}

void from_json(const nlohmann::json& j, measure_settings& m) {
#define SB_FROM(f) \
  if (j.contains(#f)) j.at(#f).get_to(m.f);
  SB_MEASURE_FIELDS(SB_FROM)
#undef SB_FROM
}

#undef SB_MEASURE_FIELDS

}  // namespace sb
