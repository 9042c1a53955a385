// Host-side shape limits of SEA's CUDA estimators, checked without a GPU: make_estimator must refuse a
// shape its kernels cannot launch with sb::unsupported_case before it touches the device.
#include <catch2/catch.hpp>

#include <cstddef>

#include "attention_variants/sea/estimators.hpp"
#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/types.hpp"
#ifdef SEABENCH_HAVE_CUDA
#include "attention_variants/sea/estimators_cuda.hpp"
#endif

using namespace sb;

#ifdef SEABENCH_HAVE_CUDA
TEST_CASE("sea CUDA performer_hist refuses a row kernel whose static plus dynamic shared memory exceeds 48 KiB",
          "[sea][sea-cuda-limits]") {
  // Causal performer_hist row kernel: dynamic (d + m + F) floats plus 32 floats and 32 doubles of static
  // shared memory, 48 KiB in all without opting in. This shape's dynamic part alone fits (the old check),
  // the total does not, so the launch would fail with "invalid argument" on the device.
  problem p;
  p.seq_len = 8000;
  p.head_dim = 576;
  p.causal = true;
  p.k = 64;
  sea::config c;
  c.estimator = sea::estimator_kind::performer_hist;
  c.K = 2000;
  c.nbf = 1;
  const std::size_t floats = static_cast<std::size_t>(p.head_dim) + sea::performer_features(p.head_dim, c.nbf) +
                             sea::hist_fine_bins(p.seq_len, c.K);
  const std::size_t dynamic = floats * sizeof(float), static_bytes = 32 * sizeof(float) + 32 * sizeof(double);
  REQUIRE(sea::hist_fine_bins(p.seq_len, c.K) <= 8192);  // not refused for its fine bins
  REQUIRE(dynamic <= std::size_t{48} << 10);
  REQUIRE(dynamic + static_bytes > std::size_t{48} << 10);
  REQUIRE_THROWS_AS(sea::gpu::make_estimator(p, c), unsupported_case);
}
#endif
