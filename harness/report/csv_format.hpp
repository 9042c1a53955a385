// RFC 4180 cell formatting for the results CSV (written with fmt, one line per row: newlines inside
// messages are replaced so that a row is always exactly one line, which keeps torn-line repair simple).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sb {

/// Quote a cell if it holds a comma, quote or leading/trailing space; newlines become spaces.
[[nodiscard]] std::string csv_escape(std::string_view text);
/// A JSON value as a CSV cell: null → empty, numbers in shortest round-trip form, bools as true/false.
[[nodiscard]] std::string csv_cell(const nlohmann::json& value);
/// One CSV line (with trailing '\n') of `row`'s values in `columns` order; absent keys are empty.
[[nodiscard]] std::string csv_line(const std::vector<std::string>& columns, const nlohmann::json& row);
/// Split one CSV line (no embedded newlines) into cells, undoing the quoting.
[[nodiscard]] std::vector<std::string> csv_split(std::string_view line);

}  // namespace sb
