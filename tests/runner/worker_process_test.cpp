// Fault containment: a worker that crashes or hangs becomes an error / timeout outcome, not a
// crashed sweep.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "harness/runner/worker_process.hpp"
#include "tests/support/test_support.hpp"

using namespace sb;
using namespace sb::test;

namespace {
std::filesystem::path fake_worker(const temp_dir& dir, const std::string& body) {
  const auto p = dir / "worker.sh";
  write_text(p, "#!/bin/sh\n" + body + "\n");
  chmod(p.c_str(), 0755);
  return p;
}
}  // namespace

TEST_CASE("a worker killed by a signal is reported with the signal and its stderr", "[runner]") {
  temp_dir dir;
  const auto outcome = run_in_worker(fake_worker(dir, "echo 'about to fail' >&2; kill -SEGV $$"), case_spec{}, 10);
  CHECK_FALSE(outcome.result);
  CHECK_THAT(outcome.failure, Catch::Contains("signal 11") && Catch::Contains("about to fail"));
}

TEST_CASE("a worker past its time limit is killed and reported as timed out", "[runner]") {
  temp_dir dir;
  const auto outcome = run_in_worker(fake_worker(dir, "sleep 30"), case_spec{}, 0.3);
  CHECK(outcome.timed_out);
  CHECK(outcome.wall_s < 5);
}

TEST_CASE("a worker's JSON result is returned; garbage is an error", "[runner]") {
  temp_dir dir;
  auto ok = run_in_worker(fake_worker(dir, "cat >/dev/null; echo '{\"status\": \"ok\"}'"), case_spec{}, 10);
  REQUIRE(ok.result);
  CHECK((*ok.result)["status"] == "ok");
  auto bad = run_in_worker(fake_worker(dir, "cat >/dev/null; echo 'not json'"), case_spec{}, 10);
  CHECK_FALSE(bad.result);
  CHECK_THAT(bad.failure, Catch::Contains("JSON"));
}

TEST_CASE("the real worker runs a case end to end", "[runner]") {
  case_spec c;
  c.variant = "dense";
  c.prob.seq_len = 16;
  c.prob.heads = 1;
  c.prob.head_dim = 8;
  c.dataset = {{"kind", "gaussian"}};
  c.measure.warmup_calls = 1;
  c.measure.warmup_min_s = 0;
  c.measure.min_samples = 2;
  c.measure.max_time_s = 0.05;
  const auto outcome = run_in_worker(SEABENCH_BINARY, c, 60);
  REQUIRE(outcome.result);
  CHECK((*outcome.result)["status"] == "ok");
  CHECK((*outcome.result)["rel_err"].get<double>() < 1e-5);
}
