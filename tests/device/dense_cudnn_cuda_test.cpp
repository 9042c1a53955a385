// dense_cudnn on the GPU: cuDNN's fused attention against dense on the CPU (fp32 on the inputs rounded
// to the case dtype; bounds of baselines.md §14: fp16 5e-3, bf16 2e-2), causal and not, head dims
// 64 (T = 129, not a multiple of the tiles) and 128 (T = 256); the loaded cuDNN version in the extra
// column; the causal canary; fp32 refused.
#include "tests/device/gpu_test_support.hpp"

#include <algorithm>
#include <utility>

#include "attention_variants/dense_cudnn/cudnn_version.hpp"
#include "harness/core/errors.hpp"

using namespace sb;

TEST_CASE("dense_cudnn matches dense on the CPU in fp16 and bf16", "[gpu][dense_cudnn]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const auto* v = variant_registry::instance().find("dense_cudnn");
  const auto* dense = variant_registry::instance().find("dense");
  const auto params = v->parameters().resolve("dense_cudnn", {});
  const auto dense_params = dense->parameters().resolve("dense", {});
  for (dtype type : {dtype::fp16, dtype::bf16})
    for (bool causal : {false, true})
      for (const auto& [d, t] : {std::pair{64, 129}, std::pair{128, 256}}) {  // a ragged T and a tiled one
          problem p;
          p.batch = 2;
          p.heads = 3;
          p.seq_len = t;
          p.head_dim = d;
          p.causal = causal;
          p.type = type;
          const auto q = test::normal_tensor(p.qkv_elements(), 61, 1), k = test::normal_tensor(p.qkv_elements(), 61, 2),
                     vv = test::normal_tensor(p.qkv_elements(), 61, 3);
          problem p_cpu = p;
          p_cpu.type = dtype::fp32;
          INFO(to_string(type) << " causal=" << causal << " d=" << d << " T=" << t);
          const auto cpu = test::run_on_cpu(*dense, p_cpu, dense_params, cuda::round_through(type, q),
                                            cuda::round_through(type, k), cuda::round_through(type, vv));
          run_context ctx;
          const auto gpu = test::run_on_cuda(*v, p, params, q, k, vv, &ctx);
          CHECK(test::rel_fro(gpu, cpu) <= (type == dtype::fp16 ? 5e-3 : 2e-2));
          REQUIRE(ctx.extras.count("cudnn_version"));
          const auto version = cudnn::decode_version(static_cast<std::size_t>(ctx.extras["cudnn_version"]));
          CHECK(version.major == 9);
        }
#endif
}

TEST_CASE("dense_cudnn's causal rows never read later keys (causal canary)", "[gpu][dense_cudnn][causal]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const auto* v = variant_registry::instance().find("dense_cudnn");
  const auto params = v->parameters().resolve("dense_cudnn", {});
  problem p;
  p.batch = 1;
  p.heads = 2;
  p.seq_len = 256;
  p.head_dim = 64;
  p.causal = true;
  p.type = dtype::bf16;
  const auto q = test::normal_tensor(p.qkv_elements(), 67, 1), k = test::normal_tensor(p.qkv_elements(), 67, 2),
             vv = test::normal_tensor(p.qkv_elements(), 67, 3);
  const int cut = 100;
  auto k2 = k, v2 = vv;
  for (int h = 0; h < p.heads; ++h)
    for (int j = cut + 1; j < p.seq_len; ++j)
      for (int x = 0; x < p.head_dim; ++x) {
        const std::size_t e = (static_cast<std::size_t>(h) * p.seq_len + j) * p.head_dim + x;
        k2[e] = 4.0f * k[e];
        v2[e] = -vv[e];
      }
  const auto a = test::run_on_cuda(*v, p, params, q, k, vv), b = test::run_on_cuda(*v, p, params, q, k2, v2);
  for (int h = 0; h < p.heads; ++h)
    for (int i = 0; i <= cut; ++i)
      for (int x = 0; x < p.head_dim; ++x) {
        const std::size_t e = (static_cast<std::size_t>(h) * p.seq_len + i) * p.head_dim + x;
        INFO("h=" << h << " i=" << i);
        REQUIRE(a[e] == b[e]);  // bitwise: masked keys contribute exactly 0
      }
  CHECK(test::rel_fro(b, a) > 1e-2);
#endif
}

TEST_CASE("dense_cudnn refuses fp32 and runs only on CUDA", "[gpu][dense_cudnn]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const auto* v = variant_registry::instance().find("dense_cudnn");
  const auto params = v->parameters().resolve("dense_cudnn", {});
  problem p;
  p.seq_len = 64;
  p.head_dim = 64;
  p.type = dtype::fp32;
  CHECK_THROWS_AS(v->instantiate(p, params, device_kind::cuda), unsupported_case);
#endif
}
