// Crash safety of the results file: after SIGKILL at an arbitrary moment, --resume yields exactly the
// case_ids of an uninterrupted run, each once; a torn last line is repaired, not duplicated.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "tests/support/test_support.hpp"

using namespace sb::test;

namespace {

const std::string sweep_config = R"(
[sweep]
seq_len = [32, 48, 64, 80, 96, 112]
heads = 2
head_dim = 16
causal = [false, true]
[[variant]]
name = "dense"
[[variant]]
name = "dense_stream"
query_block = [16, 32]
[measure]
warmup_calls = 1
warmup_min_s = 0.0
min_samples = 3
min_time_s = 0.02
max_time_s = 0.05
)";

std::multiset<std::string> case_ids(const std::filesystem::path& csv) {
  std::multiset<std::string> ids;
  for (const auto& row : read_csv_rows(csv)) ids.insert(row.at("case_id"));
  return ids;
}

std::size_t data_lines(const std::filesystem::path& csv) {
  const std::string text = read_text(csv);
  std::size_t n = 0;
  for (char c : text) n += c == '\n';
  return n > 0 ? n - 1 : 0;
}

}  // namespace

TEST_CASE("SIGKILL mid-sweep then --resume gives every case exactly once", "[runner][resume]") {
  temp_dir dir;
  write_text(dir / "c.toml", sweep_config);
  const auto reference = dir / "reference.csv";
  REQUIRE(run_command(seabench("run " + (dir / "c.toml").string() + " -q -o " + reference.string())).exit_code == 0);
  const auto expected = case_ids(reference);
  REQUIRE(expected.size() == 36);  // 6 T × 2 causal × (dense + 2 dense_stream settings)

  const auto out = dir / "killed.csv";
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string exe = SEABENCH_BINARY;
    const std::string cfg = (dir / "c.toml").string();
    const std::string o = out.string();
    execl(exe.c_str(), exe.c_str(), "run", cfg.c_str(), "-q", "-o", o.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill once a few rows are in, while the sweep is still going.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         (!std::filesystem::exists(out) || data_lines(out) < 5))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const std::size_t rows_at_kill = case_ids(out).size();
  CHECK(rows_at_kill >= 5);
  CHECK(rows_at_kill < expected.size());

  const auto r = run_command(seabench("run " + (dir / "c.toml").string() + " -q --resume -o " + out.string()));
  CHECK(r.exit_code == 0);
  CHECK(case_ids(out) == expected);
}

TEST_CASE("a torn last line is cut on resume and its case is run again", "[runner][resume]") {
  temp_dir dir;
  write_text(dir / "c.toml", sweep_config);
  const auto out = dir / "o.csv";
  const std::string run = seabench("run " + (dir / "c.toml").string() + " -q -o " + out.string() +
                                   " --set sweep.seq_len=[32,48] --set variant.dense_stream.query_block=16");
  REQUIRE(run_command(run).exit_code == 0);
  const auto expected = case_ids(out);
  REQUIRE(expected.size() == 8);

  // Simulate a kill in the middle of writing the last row: drop its second half and the newline.
  std::string text = read_text(out);
  text.pop_back();
  const auto last_start = text.rfind('\n') + 1;
  write_text(out, text.substr(0, last_start + (text.size() - last_start) / 2));
  CHECK(case_ids(out).size() == 8);  // the torn row still has its id, but is incomplete

  const auto r = run_command(run + " --resume");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("incomplete last line"));
  CHECK(case_ids(out) == expected);
  for (const auto& row : read_csv_rows(out)) CHECK(row.at("status") == "ok");
}

TEST_CASE("resume refuses a file that is not a seabench results file and leaves it untouched", "[runner][resume]") {
  temp_dir dir;
  write_text(dir / "c.toml", sweep_config);
  const auto out = dir / "other.csv";
  write_text(out, "a,b\n1,2\n");
  const auto r = run_command(seabench("run " + (dir / "c.toml").string() + " -q --resume -o " + out.string()));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("case_id"));
  CHECK(read_text(out) == "a,b\n1,2\n");
}
