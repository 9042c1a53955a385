#include "harness/runner/environment.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include <fmt/format.h>

#ifndef SEABENCH_SOURCE_DIR
#define SEABENCH_SOURCE_DIR "."
#endif
#ifndef SEABENCH_BUILD_TYPE
#define SEABENCH_BUILD_TYPE "unknown"
#endif

namespace sb {
namespace {

std::string command_output(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    std::array<char, 256> buf{};
    while (fgets(buf.data(), buf.size(), p)) out += buf.data();
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

/// The commit of the source tree this binary was built from, "-dirty" when tracked files differ.
std::string git_sha() {
  const std::string dir = SEABENCH_SOURCE_DIR;
  std::string sha = command_output(fmt::format("git -C '{}' rev-parse HEAD 2>/dev/null", dir));
  if (sha.empty()) return "unknown";
  if (!command_output(fmt::format("git -C '{}' status --porcelain --untracked-files=no 2>/dev/null", dir)).empty())
    sha += "-dirty";
  return sha;
}

}  // namespace

std::string utc_timestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

nlohmann::json environment_columns() {
  nlohmann::json env;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  env["host"] = host;
  env["git_sha"] = git_sha();
  env["cpu_model"] = cpu_model_name();
#if defined(__clang__)
  env["compiler"] = fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  env["compiler"] = fmt::format("gcc {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#endif
  env["build_type"] = SEABENCH_BUILD_TYPE;
  env["seabench_version"] = SEABENCH_VERSION;
  return env;
}

}  // namespace sb
