// Exception types that map onto exit codes (CLI) and row statuses (runner).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace sb {

/// Bad config, bad parameter or bad usage: the CLI exits 2 before running anything.
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Bad input data (malformed tensor file, too short, wrong shape). Becomes an `error` row.
struct data_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A variant cannot run this case (causal unsupported, rejected parameter combination).
/// Becomes an `unsupported` row with the message as the reason.
struct unsupported_case : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A tracked allocation failed or would exceed the configured limit. Becomes an `oom` row.
struct out_of_memory : std::runtime_error {
  out_of_memory(const std::string& what, std::size_t requested)
      : std::runtime_error(what), requested_bytes(requested) {}
  std::size_t requested_bytes;
};

}  // namespace sb
