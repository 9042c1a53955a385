// dense_flash workbench (llm.c dev/cuda style): every numbered kernel version, checked against a plain
// fp64 CPU reference on awkward sizes, then timed with CUDA events at one shape. TFLOP/s use
// FlashAttention's convention: 4·B·H·T²·D, halved when causal. bf16 inputs, fp32 accumulation.
//
//   dense_flash_workbench                       # check all versions, then time them at B=1 H=16 T=16384 D=128
//   dense_flash_workbench --d 64 --causal       # another timing shape
//   dense_flash_workbench --versions 3,5 --no-check --csv out.csv
//
// Versions (the path from the first correct kernel to the production one, flash_kernel.cuh):
//   v1 one thread per query row, K/V from global memory (v1_naive.cuh)
//   v2 + K/V tiles in shared memory, 64 queries per block (v2_smem_tiles.cuh)
//   v3 tensor cores: mma.sync m16n8k16 + ldmatrix, 4 warps × 16 rows, 64-key tiles; load, wait, compute;
//      plain (unswizzled) shared rows
//   v4 v3 + XOR-swizzled shared memory (conflict-free ldmatrix)
//   v5 v4 + cp.async double buffering of K/V (the production kernel of dense_flash)
//   v6 v5 with 8 warps (query block 128): K/V tiles shared by twice the rows
//   v7 v5 with two m16 row tiles per warp (query block 128): every K/V fragment feeds twice the mma
//      work, half the shared-memory traffic per FLOP; Q re-read from shared memory each k-step
//   v8 v7 with 32-key tiles: half the score registers
// Exit status: 0 when every check passed, 1 when one failed, 2 for bad usage.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "attention_variants/dense_flash/dev/v1_naive.cuh"
#include "attention_variants/dense_flash/dev/v2_smem_tiles.cuh"
#include "attention_variants/dense_flash/flash_kernel.cuh"

namespace {

using bf16 = __nv_bfloat16;
using sb::dense_flash_cuda::flash_config;
using sb::dense_flash_cuda::flash_params;

#define WB_CHECK(expr)                                                                                     \
  do {                                                                                                     \
    const cudaError_t wb_e_ = (expr);                                                                      \
    if (wb_e_ != cudaSuccess) {                                                                            \
      std::fprintf(stderr, "CUDA error %s (%s) in %s at %s:%d\n", cudaGetErrorName(wb_e_),                 \
                   cudaGetErrorString(wb_e_), #expr, __FILE__, __LINE__);                                  \
      std::exit(1);                                                                                        \
    }                                                                                                      \
  } while (0)

struct launch_args {
  const bf16* q;
  const bf16* k;
  const bf16* v;
  bf16* o;
  long long heads;  // B·H
  int t, d;
  bool causal;
  float scale;
};

struct v1 {
  template <int D, bool C>
  static cudaError_t launch(const launch_args& a) {
    const long long rows = a.heads * a.t;
    sb::flash_dev::v1_naive<D, C><<<static_cast<unsigned>((rows + 127) / 128), 128>>>(a.q, a.k, a.v, a.o, a.t, rows, a.scale);
    return cudaGetLastError();
  }
};
struct v2 {
  template <int D, bool C>
  static cudaError_t launch(const launch_args& a) {
    const long long blocks = a.heads * ((a.t + 63) / 64);
    sb::flash_dev::v2_smem_tiles<D, C><<<static_cast<unsigned>(blocks), 64>>>(a.q, a.k, a.v, a.o, a.t, a.scale);
    return cudaGetLastError();
  }
};
template <int Warps, int KeyBlock, bool Pipelined, bool Swizzled, int RowTiles = 1>
struct flash_version {
  template <int D, bool C>
  static cudaError_t launch(const launch_args& a) {
    flash_params p;
    p.q = a.q;
    p.k = a.k;
    p.v = a.v;
    p.o = a.o;
    p.heads = static_cast<unsigned>(a.heads);
    p.t = a.t;
    p.scale_log2 = a.scale * 1.4426950408889634f;
    return sb::dense_flash_cuda::launch_flash<bf16, flash_config<D, Warps, KeyBlock, Pipelined, Swizzled, RowTiles>, C>(
        p, nullptr);
  }
};

template <typename V>
cudaError_t dispatch(const launch_args& a) {
  if (a.d == 64) return a.causal ? V::template launch<64, true>(a) : V::template launch<64, false>(a);
  return a.causal ? V::template launch<128, true>(a) : V::template launch<128, false>(a);
}

struct version {
  int number;
  const char* summary;
  cudaError_t (*run)(const launch_args&);
};
const version versions[] = {
    {1, "naive: thread per row, K/V from global", dispatch<v1>},
    {2, "K/V tiles in shared memory, scalar FMAs", dispatch<v2>},
    {3, "mma.sync+ldmatrix, sync loads, plain smem", dispatch<flash_version<4, 64, false, false>>},
    {4, "v3 + swizzled shared memory", dispatch<flash_version<4, 64, false, true>>},
    {5, "v4 + cp.async double buffer (production)", dispatch<flash_version<4, 64, true, true>>},
    {6, "v5 with 8 warps, query block 128", dispatch<flash_version<8, 64, true, true>>},
    {7, "v5 with 32 rows per warp, query block 128", dispatch<flash_version<4, 64, true, true, 2>>},
    {8, "v7 with 32-key tiles (fewer registers)", dispatch<flash_version<4, 32, true, true, 2>>},
};

// --- inputs: N(0, 1) from a counter hash (Box-Muller), generated on the device --------------------
__device__ __forceinline__ std::uint32_t hash32(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<std::uint32_t>(x);
}
__global__ void fill_normal(bf16* x, long long n, std::uint64_t seed) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const float u1 = (hash32(seed * 0x9e3779b97f4a7c15ULL + 2 * i) + 1.0f) * 2.3283064e-10f;  // (0, 1]
    const float u2 = hash32(seed * 0x9e3779b97f4a7c15ULL + 2 * i + 1) * 2.3283064e-10f;
    x[i] = __float2bfloat16_rn(sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2));
  }
}

struct device_tensors {
  bf16 *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr;
  long long n = 0;
  device_tensors(long long elements, std::uint64_t seed) : n(elements) {
    for (bf16** p : {&q, &k, &v, &o}) WB_CHECK(cudaMalloc(p, n * sizeof(bf16)));
    fill_normal<<<1024, 256>>>(q, n, seed * 3 + 1);
    fill_normal<<<1024, 256>>>(k, n, seed * 3 + 2);
    fill_normal<<<1024, 256>>>(v, n, seed * 3 + 3);
    WB_CHECK(cudaGetLastError());
    WB_CHECK(cudaDeviceSynchronize());
  }
  ~device_tensors() {
    for (bf16* p : {q, k, v, o}) cudaFree(p);
  }
  device_tensors(const device_tensors&) = delete;
  device_tensors& operator=(const device_tensors&) = delete;
};

/// n bf16 values from the device, widened (exactly) to float.
std::vector<float> to_host(const bf16* d, long long n) {
  std::vector<bf16> h(n);
  WB_CHECK(cudaMemcpy(h.data(), d, n * sizeof(bf16), cudaMemcpyDeviceToHost));
  std::vector<float> out(n);
  for (long long i = 0; i < n; ++i) out[i] = __bfloat162float(h[i]);
  return out;
}

/// Plain fp64 softmax attention of one row (head bh, query i) of [heads, t, d] tensors into out[d].
void reference_row(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v, long long bh,
                   int i, int t, int d, bool causal, double* out) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const long long base = bh * t * d;
  const int keys = causal ? i + 1 : t;
  std::vector<double> s(keys);
  double mx = -INFINITY;
  for (int j = 0; j < keys; ++j) {
    double dot = 0;
    for (int c = 0; c < d; ++c)
      dot += static_cast<double>(q[base + static_cast<long long>(i) * d + c]) * k[base + static_cast<long long>(j) * d + c];
    s[j] = dot * scale;
    mx = std::max(mx, s[j]);
  }
  double sum = 0;
  for (int j = 0; j < keys; ++j) sum += (s[j] = std::exp(s[j] - mx));
  for (int c = 0; c < d; ++c) {
    double acc = 0;
    for (int j = 0; j < keys; ++j) acc += s[j] * v[base + static_cast<long long>(j) * d + c];
    out[c] = acc / sum;
  }
}

struct check_result {
  double rel_err = NAN;      // ‖out − ref‖_F / ‖ref‖_F over the checked rows
  long long nonfinite = 0;   // NaN / inf among the checked rows (the output was poisoned first)
};

/// The fp64 reference of some rows of one input set, computed once and shared by every version.
struct reference {
  std::vector<std::pair<long long, int>> rows;  // (head, query)
  std::vector<double> out;                      // rows.size() × d
};

/// `rows` of x's attention in fp64 from the bf16 inputs as the device holds them (all rows when empty).
reference make_reference(const launch_args& a, const device_tensors& x, std::vector<std::pair<long long, int>> rows) {
  if (rows.empty())
    for (long long bh = 0; bh < a.heads; ++bh)
      for (int i = 0; i < a.t; ++i) rows.emplace_back(bh, i);
  const auto q = to_host(x.q, x.n), k = to_host(x.k, x.n), v = to_host(x.v, x.n);
  reference r{std::move(rows), {}};
  r.out.resize(r.rows.size() * a.d);
  for (std::size_t n = 0; n < r.rows.size(); ++n)
    reference_row(q, k, v, r.rows[n].first, r.rows[n].second, a.t, a.d, a.causal, r.out.data() + n * a.d);
  return r;
}

/// Run `ver` once on poisoned output and compare the reference's rows.
check_result check_version(const version& ver, const launch_args& a, const device_tensors& x, const reference& ref) {
  WB_CHECK(cudaMemset(a.o, 0xFF, x.n * sizeof(bf16)));  // all bits set: NaN in bf16
  WB_CHECK(ver.run(a));
  WB_CHECK(cudaDeviceSynchronize());
  check_result r;
  double num = 0, den = 0;
  for (std::size_t n = 0; n < ref.rows.size(); ++n) {  // only the reference's rows come back
    const auto o = to_host(x.o + (ref.rows[n].first * a.t + ref.rows[n].second) * a.d, a.d);
    for (int c = 0; c < a.d; ++c) {
      const double want = ref.out[n * a.d + c];
      if (!std::isfinite(o[c])) ++r.nonfinite;
      num += (o[c] - want) * (o[c] - want);
      den += want * want;
    }
  }
  r.rel_err = std::sqrt(num / den);
  return r;
}

constexpr double bf16_tolerance = 2e-2;  // against fp64 on the rounded inputs (baselines.md §14)

struct options {
  int b = 1, h = 16, t = 16384, d = 128;
  bool causal = false, check = true, time = true;
  std::vector<int> versions;  // empty: all
  double target_s = 0.25;     // timing: about this much GPU time per version
  int max_reps = 50;
  std::string csv;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "dense_flash_workbench: %s\n"
               "usage: dense_flash_workbench [--b N] [--h N] [--t N] [--d 64|128] [--causal] [--versions 1,3,5]\n"
               "                             [--no-check] [--no-time] [--target-s S] [--max-reps N] [--csv FILE]\n",
               why);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--b") o.b = std::atoi(value());
    else if (a == "--h") o.h = std::atoi(value());
    else if (a == "--t") o.t = std::atoi(value());
    else if (a == "--d") o.d = std::atoi(value());
    else if (a == "--causal") o.causal = true;
    else if (a == "--no-check") o.check = false;
    else if (a == "--no-time") o.time = false;
    else if (a == "--target-s") o.target_s = std::atof(value());
    else if (a == "--max-reps") o.max_reps = std::atoi(value());
    else if (a == "--csv") o.csv = value();
    else if (a == "--versions") {
      std::string list = value();
      for (std::size_t p = 0; p < list.size();) {
        const std::size_t e = std::min(list.find(',', p), list.size());
        o.versions.push_back(std::atoi(list.substr(p, e - p).c_str()));
        p = e + 1;
      }
    } else if (a == "--help" || a == "-h") usage("help");
    else usage(("unknown argument " + a).c_str());
  }
  if (o.d != 64 && o.d != 128) usage("--d must be 64 or 128");
  if (o.b < 1 || o.h < 1 || o.t < 1) usage("--b, --h and --t must be positive");
  if (o.max_reps < 1) usage("--max-reps must be positive");
  for (int v : o.versions)
    if (v < 1 || v > static_cast<int>(std::size(versions))) usage("unknown version in --versions");
  return o;
}

bool selected(const options& o, int number) {
  return o.versions.empty() || std::find(o.versions.begin(), o.versions.end(), number) != o.versions.end();
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  cudaDeviceProp prop{};
  WB_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
  bool ok = true;
  std::FILE* csv = nullptr;
  if (!opt.csv.empty()) {
    csv = std::fopen(opt.csv.c_str(), "w");
    if (!csv) usage(("cannot write " + opt.csv).c_str());
    std::fprintf(csv, "kind,version,summary,b,h,t,d,causal,dtype,rel_err,nonfinite,passed,reps,median_ms,min_ms,tflops\n");
  }

  // --- 1. correctness on awkward sizes: every row against fp64 ------------------------------------
  if (opt.check) {
    struct shape {
      int b, h, t;
    };
    const shape shapes[] = {{1, 1, 1}, {1, 2, 61}, {2, 1, 127}, {1, 2, 1000}, {1, 1, 1031}};
    std::printf("\ncorrectness (bf16, every row vs fp64 CPU, tolerance %.0e; output poisoned with NaN first)\n",
                bf16_tolerance);
    std::printf("%-3s %-5s %-6s %-6s %-6s %-10s %s\n", "v", "d", "causal", "B·H", "T", "rel_err", "verdict");
    std::uint64_t seed = 1;
    for (int d : {64, 128})
      for (bool causal : {false, true})
        for (const shape& s : shapes) {
          const long long heads = static_cast<long long>(s.b) * s.h;
          device_tensors x(heads * s.t * d, ++seed);  // fresh inputs for every shape
          const launch_args a{x.q, x.k, x.v, x.o, heads, s.t, d, causal, 1.0f / std::sqrt(static_cast<float>(d))};
          const reference ref = make_reference(a, x, {});
          for (const version& ver : versions) {
            if (!selected(opt, ver.number)) continue;
            const check_result r = check_version(ver, a, x, ref);
            const bool pass = r.nonfinite == 0 && r.rel_err <= bf16_tolerance;
            ok = ok && pass;
            std::printf("v%-2d %-5d %-6d %-6lld %-6d %-10.3e %s\n", ver.number, d, causal ? 1 : 0, heads, s.t, r.rel_err,
                        pass ? "ok" : (r.nonfinite ? "FAIL (unwritten or non-finite outputs)" : "FAIL"));
            if (csv)
              std::fprintf(csv, "check,%d,\"%s\",%d,%d,%d,%d,%d,bf16,%.6e,%lld,%d,,,,\n", ver.number, ver.summary, s.b, s.h,
                           s.t, d, causal ? 1 : 0, r.rel_err, r.nonfinite, pass ? 1 : 0);
          }
    }
  }

  // --- 2. timing at one shape, sampled rows checked first -----------------------------------------
  if (opt.time) {
    const long long heads = static_cast<long long>(opt.b) * opt.h;
    device_tensors x(heads * opt.t * opt.d, 12345);
    const launch_args a{x.q, x.k, x.v, x.o, heads, opt.t, opt.d, opt.causal,
                        1.0f / std::sqrt(static_cast<float>(opt.d))};
    const double flops = 4.0 * heads * static_cast<double>(opt.t) * opt.t * opt.d / (opt.causal ? 2.0 : 1.0);
    // Sampled rows: first, second, middle, last two, and a spread, of the first, middle and last head.
    std::vector<std::pair<long long, int>> rows;
    for (long long bh : {0LL, heads / 2, heads - 1})
      for (int i : {0, 1, opt.t / 3, opt.t / 2, (2 * opt.t) / 3, opt.t - 2, opt.t - 1})
        if (i >= 0 && i < opt.t) rows.emplace_back(bh, i);
    std::printf("\ntiming: B=%d H=%d T=%d D=%d %s bf16, %.3g GFLOP per call (4·B·H·T²·D%s), CUDA events, median\n",
                opt.b, opt.h, opt.t, opt.d, opt.causal ? "causal" : "non-causal", flops * 1e-9,
                opt.causal ? " / 2" : "");
    std::printf("%-3s %-44s %-10s %-5s %-10s %-10s %s\n", "v", "kernel", "rel_err", "reps", "median_ms", "min_ms",
                "TFLOP/s");
    cudaEvent_t start, stop;
    WB_CHECK(cudaEventCreate(&start));
    WB_CHECK(cudaEventCreate(&stop));
    const reference ref = make_reference(a, x, rows);
    for (const version& ver : versions) {
      if (!selected(opt, ver.number)) continue;
      const check_result r = check_version(ver, a, x, ref);  // also the warm-up call
      const bool pass = r.nonfinite == 0 && r.rel_err <= bf16_tolerance;
      ok = ok && pass;
      std::vector<float> ms;
      float total = 0;
      while (static_cast<int>(ms.size()) < opt.max_reps && (ms.size() < 3 || total < opt.target_s * 1e3)) {
        WB_CHECK(cudaEventRecord(start));
        WB_CHECK(ver.run(a));
        WB_CHECK(cudaEventRecord(stop));
        WB_CHECK(cudaEventSynchronize(stop));
        float e = 0;
        WB_CHECK(cudaEventElapsedTime(&e, start, stop));
        ms.push_back(e);
        total += e;
        if (e > opt.target_s * 1e3) break;  // a slow version: one sample is enough
      }
      std::vector<float> sorted = ms;
      std::sort(sorted.begin(), sorted.end());
      const double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                              : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
      const double tflops = flops / (median * 1e-3) * 1e-12;
      std::printf("v%-2d %-44s %-10.3e %-5zu %-10.4f %-10.4f %.1f%s\n", ver.number, ver.summary, r.rel_err, ms.size(),
                  median, sorted.front(), tflops, pass ? "" : "  CHECK FAILED");
      if (csv)
        std::fprintf(csv, "time,%d,\"%s\",%d,%d,%d,%d,%d,bf16,%.6e,%lld,%d,%zu,%.6f,%.6f,%.3f\n", ver.number, ver.summary,
                     opt.b, opt.h, opt.t, opt.d, opt.causal ? 1 : 0, r.rel_err, r.nonfinite, pass ? 1 : 0, ms.size(),
                     median, sorted.front(), tflops);
    }
    WB_CHECK(cudaEventDestroy(start));
    WB_CHECK(cudaEventDestroy(stop));
  }
  if (csv) std::fclose(csv);
  std::printf("\n%s\n", ok ? "all checks passed" : "SOME CHECKS FAILED");
  return ok ? 0 : 1;
}
