// dense_flash on the GPU against its CPU reference (dense_stream) and the fp64 exact output, both from
// the inputs rounded to the case's half type: awkward T (1, primes, not a multiple of the 64 × 64
// tiles, one exact tile, many tiles), causal and not, head dims 64 and 128, fp16 and bf16. Plus:
// every output element is written (the buffer is poisoned with NaN first), runs are bitwise
// deterministic, causal row 0 is V's row 0, and huge logits stay finite.
#include "tests/device/gpu_test_support.hpp"

#ifdef SEABENCH_HAVE_CUDA
#include "harness/cuda/dtype_codec.hpp"
#endif

using namespace sb;

#ifdef SEABENCH_HAVE_CUDA
namespace {

struct shape {
  int b, h, t, d;
};
// T = 1, 2, primes below, around and far above one tile (61, 127, 521, 1531), one exact tile (64),
// 1000 (not a multiple of 64); both head dims.
const shape shapes[] = {{1, 1, 1, 64},    {1, 1, 1, 128},   {1, 2, 2, 64},    {2, 3, 7, 128},
                        {1, 2, 61, 64},   {2, 1, 64, 128},  {1, 1, 127, 128}, {2, 2, 521, 64},
                        {1, 2, 1000, 64}, {1, 1, 521, 128}, {1, 1, 1531, 128}};

double tolerance(dtype t) { return t == dtype::fp16 ? 5e-3 : 2e-2; }  // baselines.md §14

problem make_problem(const shape& s, bool causal, dtype type) {
  problem p;
  p.batch = s.b;
  p.heads = s.h;
  p.seq_len = s.t;
  p.head_dim = s.d;
  p.causal = causal;
  p.type = type;
  return p;
}

/// Run dense_flash with its output buffer poisoned (all bits set: NaN in fp16 and bf16) first.
std::vector<float> run_poisoned(const attention_variant& v, const problem& p, const std::vector<float>& q,
                                const std::vector<float>& k, const std::vector<float>& vv) {
  const cudaStream_t s = cuda::context::instance().stream();
  const auto dq = test::to_device(q, p.type), dk = test::to_device(k, p.type), dv = test::to_device(vv, p.type);
  auto instance = v.instantiate(p, v.parameters().resolve("dense_flash", {}), device_kind::cuda);
  cuda::device_buffer<std::byte> out(p.qkv_elements() * dtype_bytes(p.type), s);
  SB_CUDA_CHECK(cudaMemsetAsync(out.data(), 0xFF, out.bytes(), s));
  run_context ctx;
  instance->run({reinterpret_cast<const float*>(dq.data()), reinterpret_cast<const float*>(dk.data()),
                 reinterpret_cast<const float*>(dv.data())},
                reinterpret_cast<float*>(out.data()), ctx);
  SB_CUDA_CHECK(cudaStreamSynchronize(s));
  std::vector<std::byte> bytes(out.bytes());
  SB_CUDA_CHECK(cudaMemcpy(bytes.data(), out.data(), bytes.size(), cudaMemcpyDeviceToHost));
  std::vector<float> host(p.qkv_elements());
  cuda::decode_elements(p.type, bytes.data(), host);
  return host;
}

}  // namespace
#endif

TEST_CASE("dense_flash matches dense_stream and the fp64 reference on awkward sizes", "[gpu][dense_flash]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const auto* v = variant_registry::instance().find("dense_flash");
  const auto* ref = variant_registry::instance().find("dense_stream");
  REQUIRE(v);
  REQUIRE(ref);
  const auto ref_params = ref->parameters().resolve("dense_stream", {});
  std::uint64_t seed = 100;
  for (const shape& s : shapes) {
    for (bool causal : {false, true}) {
      for (dtype t : {dtype::fp16, dtype::bf16}) {
        const problem p = make_problem(s, causal, t);
        ++seed;  // fresh inputs for every case
        const auto q = test::normal_tensor(p.qkv_elements(), seed, 1), k = test::normal_tensor(p.qkv_elements(), seed, 2),
                   vv = test::normal_tensor(p.qkv_elements(), seed, 3);
        INFO("B=" << s.b << " H=" << s.h << " T=" << s.t << " D=" << s.d << " causal=" << causal
                  << " dtype=" << to_string(t));
        const auto gpu = run_poisoned(*v, p, q, k, vv);
        std::size_t nonfinite = 0;
        for (float x : gpu) nonfinite += !std::isfinite(x);
        REQUIRE(nonfinite == 0);  // every element written, nothing overflowed
        // What the device saw: the inputs rounded to the half type.
        const auto qr = cuda::round_through(t, q), kr = cuda::round_through(t, k), vr = cuda::round_through(t, vv);
        problem p32 = p;
        p32.type = dtype::fp32;
        CHECK(test::rel_fro(gpu, test::exact_output(p32, qr, kr, vr)) <= tolerance(t));
        CHECK(test::rel_fro(gpu, test::run_on_cpu(*ref, p32, ref_params, qr, kr, vr)) <= tolerance(t));
      }
    }
  }
#endif
}

TEST_CASE("dense_flash is deterministic and keeps causal row 0 equal to V's row 0", "[gpu][dense_flash]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const auto* v = variant_registry::instance().find("dense_flash");
  for (int d : {64, 128}) {
    for (dtype t : {dtype::fp16, dtype::bf16}) {
      const problem p = make_problem({2, 2, 333, d}, true, t);
      const auto q = test::normal_tensor(p.qkv_elements(), 9, 1, 4.0);  // peaky: q × 4
      const auto k = test::normal_tensor(p.qkv_elements(), 9, 2), vv = test::normal_tensor(p.qkv_elements(), 9, 3);
      INFO("D=" << d << " dtype=" << to_string(t));
      const auto first = run_poisoned(*v, p, q, k, vv), second = run_poisoned(*v, p, q, k, vv);
      CHECK(first == second);
      const auto vr = cuda::round_through(t, vv);
      for (int bh = 0; bh < p.batch * p.heads; ++bh)
        for (int c = 0; c < d; ++c) {
          const std::size_t at = static_cast<std::size_t>(bh) * p.seq_len * d + c;
          CHECK(first[at] == Approx(vr[at]).epsilon(1e-2).margin(1e-3));
        }
    }
  }
#endif
}

TEST_CASE("dense_flash stays finite and accurate with huge logits", "[gpu][dense_flash]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const auto* v = variant_registry::instance().find("dense_flash");
  for (bool causal : {false, true}) {
    const problem p = make_problem({1, 2, 300, 64}, causal, dtype::bf16);
    // Logits of order 1e4..1e5 (inputs × 30): the running-max subtraction keeps every exponent ≤ 0.
    const auto q = test::normal_tensor(p.qkv_elements(), 4, 1, 30.0), k = test::normal_tensor(p.qkv_elements(), 4, 2, 30.0);
    const auto vv = test::normal_tensor(p.qkv_elements(), 4, 3);
    INFO("causal=" << causal);
    const auto out = run_poisoned(*v, p, q, k, vv);
    for (float x : out) REQUIRE(std::isfinite(x));
    problem p32 = p;
    p32.type = dtype::fp32;
    const auto qr = cuda::round_through(p.type, q), kr = cuda::round_through(p.type, k),
               vr = cuda::round_through(p.type, vv);
    CHECK(test::rel_fro(out, test::exact_output(p32, qr, kr, vr)) <= tolerance(p.type));
  }
#endif
}

TEST_CASE("dense_flash refuses unaligned device pointers with a clear error", "[gpu][dense_flash]") {
  SB_REQUIRE_GPU_OR_SKIP();
#ifdef SEABENCH_HAVE_CUDA
  const auto* v = variant_registry::instance().find("dense_flash");
  const problem p = make_problem({1, 1, 8, 64}, false, dtype::fp16);
  const cudaStream_t s = cuda::context::instance().stream();
  cuda::device_buffer<std::byte> buf(4 * p.qkv_elements() * 2 + 64, s);
  auto instance = v->instantiate(p, v->parameters().resolve("dense_flash", {}), device_kind::cuda);
  const auto* base = reinterpret_cast<const float*>(buf.data());
  run_context ctx;
  // Q one half element past an aligned address.
  const auto* odd = reinterpret_cast<const float*>(buf.data() + 2);
  CHECK_THROWS_WITH(instance->run({odd, base, base}, reinterpret_cast<float*>(buf.data() + 2048), ctx),
                    Catch::Contains("16-byte aligned"));
#endif
}
