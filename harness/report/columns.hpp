// The CSV schema: the fixed column list every results file starts with (documented one by one in
// results/SCHEMA.md), followed by the extra columns of the variants in the sweep and one
// `param_<name>` column per variant parameter.
#pragma once

#include <string>
#include <vector>

#include "harness/core/case_spec.hpp"

namespace sb {

/// The fixed columns, in file order.
[[nodiscard]] const std::vector<std::string>& core_columns();

/// core_columns() + each variant's extra_columns() + param_<name> for every parameter, for the
/// variants used by `cases` (first-seen order, no duplicates).
[[nodiscard]] std::vector<std::string> columns_for(const std::vector<case_spec>& cases);

}  // namespace sb
