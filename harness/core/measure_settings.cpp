#include "harness/core/measure_settings.hpp"

#include <nlohmann/json.hpp>

namespace sb {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(measure_settings, warmup_calls, warmup_min_s, min_samples,
                                                min_time_s, target_rel_stdev, max_samples, max_time_s,
                                                case_timeout_s, ref_full_max_seq_len, ref_rows_per_head, threads,
                                                cpu_memory_limit_bytes)

}  // namespace sb
