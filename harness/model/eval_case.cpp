#include "harness/model/eval_case.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "harness/core/blas.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/variant.hpp"
#include "harness/model/perplexity.hpp"
#include "harness/runner/device_select.hpp"
#include "harness/runner/result_columns.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include "harness/cuda/cuda_context.hpp"
#endif

namespace sb::model {

const std::vector<std::string>& model_eval_columns() {
  static const std::vector<std::string> columns = {"model", "model_layers", "nll", "ppl", "tokens_evaluated", "windows"};
  return columns;
}

nlohmann::json evaluate_case(const opt_model& m, std::span<const std::int32_t> ids, const model_section& section,
                             const case_spec& c, const std::string& device) {
  nlohmann::json row = nlohmann::json::object();
  row["model"] = m.name;
  row["model_layers"] = section.layers.empty() ? std::string("all") : fmt::format("{}", fmt::join(section.layers, ";"));
  const int threads = c.measure.threads > 0 ? c.measure.threads : static_cast<int>(std::thread::hardware_concurrency());
  blas::set_threads(threads);
  row["threads"] = threads;
  memory_tracker::instance().set_limit(c.measure.cpu_memory_limit_bytes);
  try {
    attention_plan plan;
    plan.variant = variant_registry::instance().find(c.variant);
    if (!plan.variant) throw config_error(fmt::format("unknown variant '{}'", c.variant));
    plan.params = c.params;
    plan.k = c.prob.k;
    plan.seed = c.prob.seed;
    plan.layers = section.layers;
    const device_kind d = resolve_device(device, *plan.variant);
    row["device"] = to_string(d);
    row["device_name"] = device_name(d);
#ifdef SEABENCH_HAVE_CUDA
    if (d == device_kind::cuda) cuda::context::instance().set_allow_tf32(c.measure.allow_tf32);
#endif
    const perplexity_result r = evaluate_perplexity(m, ids, section.seq_len, section.max_windows, plan, d);
    row["status"] = "ok";
    row["nll"] = r.nll();
    row["ppl"] = r.ppl();
    row["tokens_evaluated"] = r.tokens;
    row["windows"] = r.windows;
    row["peak_mem_bytes"] = r.peak_bytes;
    for (const auto& [name, mean] : r.extras) row[name] = mean;
    add_latency_columns(row, r.window_ms, "windows", 0.0);
    row.erase("gflops_per_s");  // no FLOP model for the whole network
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

forked_outcome run_forked(const std::function<nlohmann::json()>& work, double timeout_s,
                          const std::function<void(double)>& heartbeat) {
  const auto start = std::chrono::steady_clock::now();
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(fmt::format("cannot create a pipe for a model-eval child: {}", std::strerror(errno)));
  std::fflush(nullptr);  // do not let the child flush the parent's buffered output again
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("cannot fork a model-eval child: {}", std::strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // A crash must kill the child (the parent reports the signal), not run handlers it inherited.
    for (int sig : {SIGSEGV, SIGABRT, SIGFPE, SIGILL, SIGBUS, SIGTERM}) std::signal(sig, SIG_DFL);
    close(out_pipe[0]);
    std::string text;
    try {
      text = work().dump();
    } catch (const std::exception& e) {
      text = nlohmann::json{{"status", "error"}, {"error", e.what()}}.dump();
    }
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(out_pipe[1], text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) _exit(4);
      done += static_cast<std::size_t>(n);
    }
    _exit(0);  // skip static destructors and atexit handlers shared with the parent
  }
  close(out_pipe[1]);
  std::string output;
  bool timed_out = false;
  char buf[65536];
  pollfd pfd{out_pipe[0], POLLIN, 0};
  while (true) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed >= timeout_s) {
      kill(pid, SIGKILL);
      timed_out = true;
      break;
    }
    const int ready = poll(&pfd, 1, static_cast<int>(std::min((timeout_s - elapsed) * 1000.0, 1000.0)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0 && heartbeat) heartbeat(elapsed);
    if (ready <= 0) continue;
    const ssize_t n = read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  forked_outcome o;
  o.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto failed = [&](const std::string& status_text, const std::string& why) {
    o.row = nlohmann::json{{"status", status_text}, {"error", why}};
  };
  if (timed_out) {
    failed("timeout", fmt::format("case exceeded its time limit of {} s and was killed", timeout_s));
  } else if (WIFSIGNALED(status)) {
    failed("error", fmt::format("model-eval child died from signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status))));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    failed("error", fmt::format("model-eval child exited with code {}", WEXITSTATUS(status)));
  } else {
    try {
      o.row = nlohmann::json::parse(output);
    } catch (const std::exception& e) {
      failed("error", fmt::format("model-eval child output is not valid JSON: {}", e.what()));
    }
  }
  return o;
}

}  // namespace sb::model
