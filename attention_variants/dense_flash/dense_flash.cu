// dense_flash on CUDA: picks the production instance of the tensor-core kernel (flash_kernel.cuh)
// for the dtype, head dimension and masking of a case, and launches it on the given stream.
// Tiles: 4 warps × 16 query rows (query block 64) and key tiles of 64 for both head dimensions,
// K/V double-buffered (80 KiB of shared memory at d = 128, 48 KiB at d = 64). The workbench
// (dev/) times the alternatives; see dev/README.md for the numbers behind this choice.
#include "attention_variants/dense_flash/dense_flash_kernels.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "attention_variants/dense_flash/dense_flash_tiles.hpp"
#include "attention_variants/dense_flash/flash_kernel.cuh"
#include "harness/cuda/cuda_error.hpp"

namespace sb::dense_flash_cuda {
namespace {

template <int HeadDim>
using production_config = flash_config<HeadDim, /*Warps=*/4, /*KeyBlock=*/64>;
static_assert(production_config<64>::query_block == dense_flash_tiles::query_block &&
                  production_config<64>::key_block == dense_flash_tiles::key_block &&
                  production_config<128>::query_block == dense_flash_tiles::query_block &&
                  production_config<128>::key_block == dense_flash_tiles::key_block,
              "the executed-FLOP model (dense_flash_tiles.hpp) counts the tiles launched here");

template <typename T, int HeadDim>
void launch_typed(const flash_params& p, long long heads, bool causal, cudaStream_t stream) {
  using cfg = production_config<HeadDim>;
  if (flash_grid_blocks<cfg>(heads, p.t) > std::numeric_limits<int>::max())
    throw std::invalid_argument("dense_flash: more than 2^31 - 1 thread blocks in one launch");
  if (causal)
    SB_CUDA_CHECK((launch_flash<T, cfg, true>(p, stream)));
  else
    SB_CUDA_CHECK((launch_flash<T, cfg, false>(p, stream)));
}

template <typename T>
void launch_dim(const flash_params& p, long long heads, int d, bool causal, cudaStream_t stream) {
  if (d == 64)
    launch_typed<T, 64>(p, heads, causal, stream);
  else
    launch_typed<T, 128>(p, heads, causal, stream);
}

bool aligned16(const void* ptr) { return reinterpret_cast<std::uintptr_t>(ptr) % 16 == 0; }

}  // namespace

void launch_flash_attention(const void* q, const void* k, const void* v, void* o, dtype type, std::int64_t heads,
                            int t, int d, bool causal, float tau, cudaStream_t stream) {
  if (heads <= 0 || t <= 0) return;
  if (d != 64 && d != 128) throw std::invalid_argument("dense_flash: head_dim must be 64 or 128, not " + std::to_string(d));
  if (heads > std::numeric_limits<unsigned>::max()) throw std::invalid_argument("dense_flash: too many heads");
  if (!aligned16(q) || !aligned16(k) || !aligned16(v) || !aligned16(o))
    throw std::invalid_argument("dense_flash: Q, K, V and O must be 16-byte aligned (cp.async and vector stores)");
  flash_params p;
  p.q = q;
  p.k = k;
  p.v = v;
  p.o = o;
  p.heads = static_cast<unsigned>(heads);
  p.t = t;
  p.scale_log2 = tau * 1.4426950408889634f;  // exp(x·τ) = exp2(x·τ·log2 e)
  switch (type) {
    case dtype::fp16: launch_dim<__half>(p, heads, d, causal, stream); break;
    case dtype::bf16: launch_dim<__nv_bfloat16>(p, heads, d, causal, stream); break;
    case dtype::fp32: throw std::invalid_argument("dense_flash: fp32 inputs are not supported (fp16 or bf16)");
  }
}

}  // namespace sb::dense_flash_cuda
