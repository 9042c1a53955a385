// Drawing a chart_data with gnuplot (Debian's gnuplot-nox): the script is generated here, with the
// data inline, and gnuplot is run on it. PNG through the pngcairo terminal (libgd's png where a
// gnuplot lacks cairo), SVG through the svg terminal; text is not "enhanced", so column names with
// underscores print as they are.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "harness/report/charts/chart_data.hpp"

namespace sb::report {

enum class image_format { png, svg };

/// From the output's extension (.png / .svg, any case); throws input_error otherwise.
[[nodiscard]] image_format image_format_for(const std::filesystem::path& output);

/// The plotting tool is missing or failed. The CLI prints the message and exits 1.
struct plot_tool_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The gnuplot script that draws `d` into `output`.
[[nodiscard]] std::string gnuplot_script(const chart_data& d, const std::filesystem::path& output, image_format f);

/// The gnuplot executable: $SEABENCH_GNUPLOT when set, else `gnuplot` on PATH. Throws
/// plot_tool_error naming the Debian package to install when there is none.
[[nodiscard]] std::filesystem::path find_gnuplot();

/// Run gnuplot on `script` (written to a temporary file, or to `keep_script` when not empty).
/// Throws plot_tool_error with gnuplot's messages when it fails or writes no output file.
void run_gnuplot(const std::string& script, const std::filesystem::path& output,
                 const std::filesystem::path& keep_script = {});

}  // namespace sb::report
