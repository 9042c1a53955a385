#include "harness/runner/worker_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace sb {
namespace {

std::string tail_of_file(const std::string& path, std::size_t max_chars) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() > max_chars) s = "..." + s.substr(s.size() - max_chars);
  return s;
}

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the child died early; its exit status tells the story
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

worker_outcome run_in_worker(const std::filesystem::path& worker_exe, const case_spec& c, double timeout_s,
                             const std::function<void(double)>& heartbeat) {
  const auto start = std::chrono::steady_clock::now();
  worker_outcome outcome;
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(fmt::format("cannot create pipes for a worker: {}", std::strerror(errno)));
  char err_path[] = "/tmp/seabench-worker-XXXXXX";
  const int err_fd = mkstemp(err_path);
  if (err_fd < 0) throw std::runtime_error(fmt::format("cannot create a worker log file: {}", std::strerror(errno)));

  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("cannot fork a worker: {}", std::strerror(errno)));
  if (pid == 0) {
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    const std::string exe = worker_exe.string();
    execl(exe.c_str(), exe.c_str(), "__worker", static_cast<char*>(nullptr));
    std::fprintf(stderr, "cannot execute worker '%s': %s\n", exe.c_str(), std::strerror(errno));
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_fd);
  signal(SIGPIPE, SIG_IGN);
  write_all(in_pipe[1], c.to_json().dump());
  close(in_pipe[1]);

  std::string output;
  char buf[65536];
  pollfd pfd{out_pipe[0], POLLIN, 0};
  while (true) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double left = timeout_s - elapsed;
    if (left <= 0) {
      kill(pid, SIGKILL);
      outcome.timed_out = true;
      break;
    }
    const int ready = poll(&pfd, 1, static_cast<int>(std::min(left * 1000.0, 1000.0)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0 && heartbeat) heartbeat(elapsed);
    if (ready <= 0) continue;
    const ssize_t n = read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the worker closed stdout (finished or died)
    output.append(buf, static_cast<std::size_t>(n));
  }
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string log = tail_of_file(err_path, 600);
  unlink(err_path);

  if (outcome.timed_out) {
    outcome.failure = fmt::format("case exceeded its time limit of {} s and was killed", timeout_s);
  } else if (WIFSIGNALED(status)) {
    outcome.failure = fmt::format("worker died from signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    outcome.failure = fmt::format("worker exited with code {}", WEXITSTATUS(status));
  } else {
    try {
      outcome.result = nlohmann::json::parse(output);
    } catch (const std::exception& e) {
      outcome.failure = fmt::format("worker output is not valid JSON: {}", e.what());
    }
  }
  if (!outcome.result && !log.empty()) outcome.failure += "; worker stderr: " + log;
  return outcome;
}

}  // namespace sb
