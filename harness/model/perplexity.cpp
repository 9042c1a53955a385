#include "harness/model/perplexity.hpp"

#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/model/opt_model.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include "harness/cuda/cuda_context.hpp"
#include "harness/model/opt_forward_cuda.hpp"
#endif

namespace sb::model {

double perplexity_result::ppl() const { return std::exp(nll()); }

std::vector<std::span<const std::int32_t>> non_overlapping_windows(std::span<const std::int32_t> ids, int seq_len,
                                                                   int max_windows) {
  if (seq_len < 2) throw config_error(fmt::format("window length {} is too short (at least 2 tokens)", seq_len));
  if (ids.size() < static_cast<std::size_t>(seq_len))
    throw data_error(fmt::format("the text holds {} tokens, fewer than one window of {}", ids.size(), seq_len));
  std::vector<std::span<const std::int32_t>> out;
  for (std::size_t start = 0; start + static_cast<std::size_t>(seq_len) <= ids.size(); start += seq_len) {
    if (max_windows > 0 && static_cast<int>(out.size()) == max_windows) break;
    out.push_back(ids.subspan(start, static_cast<std::size_t>(seq_len)));
  }
  return out;
}

namespace {

/// The windows through `fwd` (opt_forward or opt_forward_cuda); peak_start / peak_end bracket each
/// window for its memory high-water mark (host tracker or device pool).
template <typename Forward, typename PeakStart, typename PeakEnd>
perplexity_result run_windows(Forward& fwd, const std::vector<std::span<const std::int32_t>>& windows, int seq_len,
                              PeakStart&& peak_start, PeakEnd&& peak_end) {
  perplexity_result r;
  // keys_per_query comes from the support, whose listing costs time (SEA on the CPU also computes its
  // oracle cell mass then): one untimed pass over the first window lists it, the timed windows do not.
  call_extras support_pass;
  if (!windows.empty()) {
    fwd.list_support = true;
    (void)fwd.window_nll(windows.front());
    fwd.list_support = false;
    support_pass = std::move(fwd.attention_extras);
    fwd.attention_extras.clear();
  }
  for (const auto& w : windows) {
    peak_start();
    const auto start = std::chrono::steady_clock::now();
    const double nll = fwd.window_nll(w);
    r.window_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    r.peak_bytes = std::max(r.peak_bytes, peak_end());
    if (!std::isfinite(nll))
      throw data_error(fmt::format("window {} gave a non-finite loss ({})", r.windows, nll));
    r.nll_sum += nll;
    r.tokens += seq_len - 1;
    ++r.windows;
  }
  const auto mean = [](const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  for (const auto& [name, values] : fwd.attention_extras) r.extras[name] = mean(values);
  // The measured support wins for keys_per_query; extras reported only when listing come from that pass.
  for (const auto& [name, values] : support_pass)
    if (name == "keys_per_query" || !r.extras.contains(name)) r.extras[name] = mean(values);
  return r;
}

}  // namespace

perplexity_result evaluate_perplexity(const opt_model& m, std::span<const std::int32_t> ids, int seq_len,
                                      int max_windows, const attention_plan& plan, device_kind device) {
  const auto windows = non_overlapping_windows(ids, seq_len, max_windows);
  for (const auto& w : windows) validate_token_ids(m, w);
  if (device == device_kind::cuda) {
#ifdef SEABENCH_HAVE_CUDA
    opt_forward_cuda fwd(m, seq_len, plan);
    auto& cx = cuda::context::instance();
    return run_windows(
        fwd, windows, seq_len, [&] { cx.pool().reset_peak(cx.stream()); },
        [&] { return cx.pool().peak_used_above_reset(cx.stream()); });
#else
    throw unsupported_case("the OPT forward pass on CUDA: this seabench was built without CUDA");
#endif
  }
  opt_forward fwd(m, seq_len, plan);
  auto& tracker = memory_tracker::instance();
  std::size_t live_before = 0;
  return run_windows(
      fwd, windows, seq_len,
      [&] {
        live_before = tracker.current_bytes();
        tracker.reset_peak();
      },
      [&] { return tracker.peak_bytes() - live_before; });
}

}  // namespace sb::model
