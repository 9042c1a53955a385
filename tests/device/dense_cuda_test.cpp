// dense and dense_stream on CUDA against the CPU: fp32 within 1e-4 of the CPU variant and 1e-5 of the
// fp64 reference; TF32 (dense) within 2e-3; fp16 within 5e-3 and bf16 within 2e-2 of the fp64
// reference computed from the rounded inputs (baselines.md §14), on sizes that are not multiples of
// any tile, causal and not.
#include "tests/device/gpu_test_support.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include "harness/core/errors.hpp"
#include "harness/cuda/dtype_codec.hpp"
#endif

using namespace sb;

#ifdef SEABENCH_HAVE_CUDA
namespace {

struct shape {
  int b, h, t, d;
};
// Awkward sizes: T = 1, 2, primes and 2^k ± 1, D not a multiple of 32, D = 256 (shared-memory opt-in).
const shape shapes[] = {{1, 1, 1, 32}, {1, 1, 2, 64}, {2, 3, 7, 64}, {1, 3, 127, 128}, {2, 1, 129, 32},
                        {1, 1, 65, 24}, {1, 2, 1000, 64}, {1, 1, 300, 256}};

double tolerance(dtype t) {
  switch (t) {
    case dtype::fp32: return 1e-5;
    case dtype::fp16: return 5e-3;
    case dtype::bf16: return 2e-2;
  }
  return 0;
}

}  // namespace
#endif

TEST_CASE("CUDA dense and dense_stream match the CPU and the fp64 reference", "[gpu][dense]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  cuda::context::instance().set_allow_tf32(false);
  for (const char* name : {"dense", "dense_stream"}) {
    const auto* v = variant_registry::instance().find(name);
    REQUIRE(v);
    const auto params = v->parameters().resolve(name, {});
    for (const shape& s : shapes) {
      for (bool causal : {false, true}) {
        problem p;
        p.batch = s.b;
        p.heads = s.h;
        p.seq_len = s.t;
        p.head_dim = s.d;
        p.causal = causal;
        const auto q = test::normal_tensor(p.qkv_elements(), 11, 1);
        const auto k = test::normal_tensor(p.qkv_elements(), 11, 2);
        const auto vv = test::normal_tensor(p.qkv_elements(), 11, 3);
        const auto cpu = test::run_on_cpu(*v, p, params, q, k, vv);
        const auto ref = test::exact_output(p, q, k, vv);
        for (dtype t : {dtype::fp32, dtype::fp16, dtype::bf16}) {
          p.type = t;
          INFO(name << " B=" << s.b << " H=" << s.h << " T=" << s.t << " D=" << s.d << " causal=" << causal
                    << " dtype=" << to_string(t));
          const auto gpu = test::run_on_cuda(*v, p, params, q, k, vv);
          if (t == dtype::fp32) {
            CHECK(test::rel_fro(gpu, cpu) <= 1e-4);
            CHECK(test::rel_fro(gpu, ref) <= tolerance(t));
          } else {
            // What the device saw: the inputs rounded to the half type.
            const auto qr = cuda::round_through(t, q), kr = cuda::round_through(t, k), vr = cuda::round_through(t, vv);
            problem p32 = p;
            p32.type = dtype::fp32;
            CHECK(test::rel_fro(gpu, test::exact_output(p32, qr, kr, vr)) <= tolerance(t));
          }
        }
      }
    }
  }
#endif
}

TEST_CASE("CUDA dense with TF32 allowed stays within the TF32 tolerance", "[gpu][dense]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const auto* v = variant_registry::instance().find("dense");
  const auto params = v->parameters().resolve("dense", {});
  problem p;
  p.heads = 2;
  p.seq_len = 513;
  p.head_dim = 64;
  for (bool causal : {false, true}) {
    p.causal = causal;
    const auto q = test::normal_tensor(p.qkv_elements(), 5, 1), k = test::normal_tensor(p.qkv_elements(), 5, 2),
               vv = test::normal_tensor(p.qkv_elements(), 5, 3);
    cuda::context::instance().set_allow_tf32(true);
    const auto gpu = test::run_on_cuda(*v, p, params, q, k, vv);
    cuda::context::instance().set_allow_tf32(false);
    INFO("causal=" << causal);
    CHECK(test::rel_fro(gpu, test::exact_output(p, q, k, vv)) <= 2e-3);
  }
#endif
}

TEST_CASE("CUDA dense variants: causal row 0 is V's row 0, peaky and huge logits stay finite", "[gpu][dense]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  for (const char* name : {"dense", "dense_stream"}) {
    const auto* v = variant_registry::instance().find(name);
    const auto params = v->parameters().resolve(name, {});
    problem p;
    p.heads = 2;
    p.seq_len = 77;
    p.head_dim = 64;
    p.causal = true;
    const auto q = test::normal_tensor(p.qkv_elements(), 3, 1, 4.0);  // peaky: q × 4
    const auto k = test::normal_tensor(p.qkv_elements(), 3, 2), vv = test::normal_tensor(p.qkv_elements(), 3, 3);
    for (dtype t : {dtype::fp32, dtype::fp16, dtype::bf16}) {
      p.type = t;
      INFO(name << " dtype=" << to_string(t));
      const auto out = test::run_on_cuda(*v, p, params, q, k, vv);
      const auto vr = cuda::round_through(t, vv);
      for (int h = 0; h < p.heads; ++h)
        for (int c = 0; c < p.head_dim; ++c) {
          const std::size_t at = static_cast<std::size_t>(h) * p.seq_len * p.head_dim + c;
          CHECK(out[at] == Approx(vr[at]).epsilon(t == dtype::fp32 ? 1e-6 : 1e-2));
        }
      problem p32 = p;
      p32.type = dtype::fp32;
      CHECK(test::rel_fro(out, test::exact_output(p32, cuda::round_through(t, q), cuda::round_through(t, k), vr)) <=
            tolerance(t));
    }
    // Logits of order 1e5 (inputs × 300): the max subtraction keeps every output finite.
    p.causal = false;
    p.type = dtype::fp32;
    const auto big_q = test::normal_tensor(p.qkv_elements(), 4, 1, 300.0),
               big_k = test::normal_tensor(p.qkv_elements(), 4, 2, 300.0);
    for (float x : test::run_on_cuda(*v, p, params, big_q, big_k, vv)) REQUIRE(std::isfinite(x));
  }
#endif
}

TEST_CASE("CUDA dense_stream rejects head_dim above 256 as unsupported", "[gpu][dense]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const auto* v = variant_registry::instance().find("dense_stream");
  problem p;
  p.seq_len = 8;
  p.head_dim = 320;
  CHECK_THROWS_AS(v->instantiate(p, v->parameters().resolve("dense_stream", {}), device_kind::cuda), unsupported_case);
#endif
}
