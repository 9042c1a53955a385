#include "harness/runner/case_worker.hpp"

#include <malloc.h>
#include <sys/prctl.h>

#include <csignal>
#include <iostream>
#include <iterator>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "harness/core/blas.hpp"
#include "harness/core/dataset.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/variant.hpp"
#ifdef SEABENCH_HAVE_CUDA
#include "harness/cuda/device_case.hpp"
#endif
#include "harness/measure/cpu_timer.hpp"
#include "harness/measure/process_memory.hpp"
#include "harness/metrics/accuracy.hpp"
#include "harness/metrics/exact_reference.hpp"
#include "harness/metrics/reference_rows.hpp"
#include "harness/metrics/sample_stats.hpp"
#include "harness/runner/result_columns.hpp"

namespace sb {
namespace {


/// Touch OpenBLAS once so its per-thread buffers exist before memory baselines are taken.
void warm_blas() {
  float a[16] = {}, b[16] = {}, c[16] = {};
  blas::sgemm(false, false, 4, 4, 4, 1.0f, a, 4, b, 4, 0.0f, c, 4);
}


void measure_and_check(const case_spec& c, const attention_variant& v, int threads, nlohmann::json& row) {
  const dataset_source* ds = dataset_registry::instance().find(c.dataset.at("kind").get<std::string>());
  if (!ds) throw data_error(fmt::format("unknown dataset kind '{}'", c.dataset.at("kind").get<std::string>()));
  const qkv_host in = ds->load(c.dataset, c.prob);
  const qkv_view view{in.q.data(), in.k.data(), in.v.data()};
  auto instance = v.instantiate(c.prob, c.params, c.device);
  const std::size_t out_elems = c.prob.qkv_elements();

  // --- memory: one call in a clean peak window (output included, inputs excluded) ---
  auto& tracker = memory_tracker::instance();
  warm_blas();
  const auto rss_before = resident_bytes();
  const bool hwm_reset = reset_peak_resident();
  const std::size_t live_before = tracker.current_bytes();
  tracker.reset_peak();
  {
    tracked_buffer<float> out(out_elems);
    run_context ctx;
    instance->run(view, out.data(), ctx);
  }
  row["peak_mem_bytes"] = tracker.peak_bytes() - live_before;
  if (hwm_reset && rss_before) {
    if (const auto hwm = peak_resident_bytes()) row["process_peak_rss_bytes"] = *hwm > *rss_before ? *hwm - *rss_before : 0;
  }

  // --- timing ---
  tracked_buffer<float> out(out_elems);
  std::map<std::string, std::vector<double>> extras;
  run_context timed_ctx;
  const timing_samples t = measure_cpu(
      [&] {
        timed_ctx.extras.clear();
        instance->run(view, out.data(), timed_ctx);
      },
      c.measure,
      [&](std::size_t) {
        for (const auto& [name, value] : timed_ctx.extras) extras[name].push_back(value);
      });
  add_latency_columns(row, t.wall_ms, t.stop_reason, v.flops(c.prob, c.params).executed);
  row["cpu_time_ms_median"] = summarize(t.cpu_ms).median;
  add_extra_medians(row, extras);

  // --- accuracy: an untimed call that also reports the support, against the fp64 reference ---
  attention_support support;
  run_context acc_ctx;
  if (v.caps().exposes_support) acc_ctx.support = &support;
  instance->run(view, out.data(), acc_ctx);
  for (const auto& [name, value] : acc_ctx.extras)
    if (!row.contains(name)) row[name] = value;
  const auto ref = exact_reference(c.prob, in.q.data(), in.k.data(), in.v.data(), choose_reference_rows(c.prob, c.measure), threads);
  const accuracy_report acc = compute_accuracy(c.prob, in.q.data(), in.k.data(), in.v.data(), out.data(), ref,
                                               acc_ctx.support ? &support : nullptr, threads);
  row["reference"] = "fp64_cpu";
  add_accuracy_columns(row, acc);
}

}  // namespace

nlohmann::json run_case(const case_spec& c) {
  nlohmann::json row = nlohmann::json::object();
  const attention_variant* v = variant_registry::instance().find(c.variant);
  if (!v) {
    row["status"] = "error";
    row["error"] = fmt::format("unknown variant '{}'", c.variant);
    return row;
  }
  const int threads = c.measure.threads > 0 ? c.measure.threads : static_cast<int>(std::thread::hardware_concurrency());
  blas::set_threads(threads);
  row["threads"] = threads;
  row["analytic_mem_bytes"] = v->analytic_memory_bytes(c.prob, c.params);
  const flop_count f = v->flops(c.prob, c.params);
  row["flops_dense_equiv"] = f.dense_equiv;
  row["flops_executed"] = f.executed;
  memory_tracker::instance().set_limit(c.measure.cpu_memory_limit_bytes);
  try {
    if (c.device == device_kind::cpu && c.measure.cpu_memory_limit_bytes != 0 &&
        v->analytic_memory_bytes(c.prob, c.params) > c.measure.cpu_memory_limit_bytes)
      throw out_of_memory(fmt::format("predicted {} bytes", v->analytic_memory_bytes(c.prob, c.params)),
                          v->analytic_memory_bytes(c.prob, c.params));
#ifdef SEABENCH_HAVE_CUDA
    if (c.device == device_kind::cuda) {
      const dataset_source* ds = dataset_registry::instance().find(c.dataset.at("kind").get<std::string>());
      if (!ds) throw data_error(fmt::format("unknown dataset kind '{}'", c.dataset.at("kind").get<std::string>()));
      cuda::run_case_on_cuda(c, ds->load(c.dataset, c.prob), *v, row, {.threads = threads, .allow_tf32 = c.measure.allow_tf32});
    } else
#endif
      measure_and_check(c, *v, threads, row);
  } catch (const out_of_memory& e) {
    row["status"] = "oom";
    row["error"] = e.what();
    row["oom_requested_bytes"] = e.requested_bytes;
  } catch (const unsupported_case& e) {
    row["status"] = "unsupported";
    row["error"] = e.what();
  } catch (const std::bad_alloc&) {
    row["status"] = "oom";
    row["error"] = "std::bad_alloc (untracked allocation failed)";
  } catch (const std::exception& e) {
    row["status"] = "error";
    row["error"] = e.what();
  }
  return row;
}

int worker_main() {
  // Die with the parent: a killed sweep must not leave workers running.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // A fixed mmap threshold keeps large buffers out of the heap, so freed memory leaves RSS and the
  // next case's (and the next call's) high-water mark stays meaningful.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  const std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  case_spec c;
  try {
    c = case_spec::from_json(nlohmann::json::parse(input));
  } catch (const std::exception& e) {
    std::cerr << "seabench worker: bad case description: " << e.what() << "\n";
    return 3;
  }
  std::cout << run_case(c).dump() << std::endl;
  return 0;
}

}  // namespace sb
