// dense_flash: a fused, tiled online-softmax attention kernel on tensor cores (FlashAttention-2's
// forward pass, written from the algorithm): one thread block owns `query_block` consecutive queries
// of one (batch, head) and walks the key tiles; each warp owns 16 query rows, so the score tile
// S = Q·Kᵀ and the output O += P·V are mma.sync.m16n8k16 products (fp16/bf16 operands, fp32
// accumulators) whose fragments come from shared memory through ldmatrix. Softmax statistics live in
// registers (two rows per thread); P never leaves registers (the S accumulator layout is the A
// operand layout of the next product). K/V tiles are double-buffered with cp.async, and shared
// memory rows are XOR-swizzled in 16-byte chunks so ldmatrix hits 8 different bank groups.
// Memory beyond Q, K, V, O: none (O(T)). Arbitrary T: tiles past T are zero-filled by cp.async and
// their keys masked to −∞; rows past T are computed and not stored. Causal: key tiles after the
// block's last query are skipped, and the tiles that straddle the diagonal are masked.
//
// This header has no harness dependencies so that the workbench (dev/) times the very same code.
// Needs sm_80 or newer (cp.async, ldmatrix, bf16 mma); compiled here for sm_90.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace sb::dense_flash_cuda {

/// One kernel instance's compile-time shape. Pipelined: K/V tile j+1 is loaded while tile j is
/// computed (two stages); else load, wait, compute. Swizzled: chunk c of row r sits at c ^ (r mod 8);
/// else rows are plain (ldmatrix's 8 row addresses then fall in one bank group: an 8-way conflict).
/// RowTiles: m16 row tiles per warp. With one, Q's fragments stay in registers for the whole key
/// loop; with two, every K/V fragment read from shared memory feeds twice the mma work (half the
/// shared-memory traffic per FLOP) and Q's fragments are re-read each k-step to make room for the
/// larger accumulators.
template <int HeadDim, int Warps, int KeyBlock, bool Pipelined = true, bool Swizzled = true, int RowTiles = 1>
struct flash_config {
  static_assert(HeadDim % 64 == 0, "swizzle needs at least 8 chunks of 16 bytes per row");
  static_assert(KeyBlock % 16 == 0, "key tiles are walked 16 keys at a time");
  static constexpr int head_dim = HeadDim;
  static constexpr int warps = Warps;
  static constexpr int threads = Warps * 32;
  static constexpr int row_tiles = RowTiles;
  static constexpr int rows_per_warp = 16 * RowTiles;
  static constexpr int query_block = rows_per_warp * Warps;
  static constexpr bool q_in_registers = RowTiles == 1;
  static constexpr int key_block = KeyBlock;
  static constexpr bool pipelined = Pipelined;
  static constexpr bool swizzled = Swizzled;
  static constexpr int chunks = HeadDim / 8;  // 16-byte chunks of 8 half elements per row
  static constexpr int kv_stages = Pipelined ? 2 : 1;
  /// Q tile (reused for the output staging) + K and V tiles per stage, 2-byte elements.
  static constexpr std::size_t smem_bytes =
      std::size_t{2} * HeadDim * (query_block + 2 * kv_stages * static_cast<std::size_t>(KeyBlock));
};

/// Q, K, V, O: [heads, t, d] device arrays of the half type (16-byte aligned). scale_log2 = τ·log2(e).
struct flash_params {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;
  unsigned heads = 0;
  int t = 0;
  float scale_log2 = 0;
};

namespace detail {

__device__ __forceinline__ std::uint32_t smem_addr(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

/// 16 bytes global → shared, bypassing L1; src_bytes = 0 zero-fills the destination (tail rows).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int Pending>
__device__ __forceinline__ void cp_async_wait() {
  // "memory": no shared-memory access of the compiler's own may move above the wait.
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
}

__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(std::uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

template <typename T>
struct half_ops;
template <>
struct half_ops<__nv_bfloat16> {
  __device__ static __forceinline__ std::uint32_t pack(float lo, float hi) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const std::uint32_t*>(&h);
  }
  /// d += a·b on a 16×8×16 tile: a row-major 16×16, b column-major 16×8, fp32 accumulators.
  __device__ static __forceinline__ void mma(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                                             std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};
template <>
struct half_ops<__half> {
  __device__ static __forceinline__ std::uint32_t pack(float lo, float hi) {
    const __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const std::uint32_t*>(&h);
  }
  __device__ static __forceinline__ void mma(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                                             std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};

/// Element offset of (row, col) in a shared tile of `Cfg::head_dim` columns; col's 16-byte chunk is
/// swizzled by the row's low three bits (the offset inside the chunk is kept).
template <typename Cfg>
__device__ __forceinline__ int tile_offset(int row, int col) {
  if constexpr (Cfg::swizzled)
    return row * Cfg::head_dim + ((((col >> 3) ^ (row & 7))) << 3) + (col & 7);
  else
    return row * Cfg::head_dim + col;
}

/// Rows [row0, row0 + Rows) of a [t, d] head into a shared tile; rows at or past t are zero-filled
/// (so masked keys meet finite zeros, never stale shared memory).
template <typename Cfg, int Rows, typename T>
__device__ __forceinline__ void load_tile(T* tile, const T* head, int row0, int t) {
  constexpr int total = Rows * Cfg::chunks;
  static_assert(total % Cfg::threads == 0, "every thread copies the same number of chunks");
#pragma unroll
  for (int i = 0; i < total / Cfg::threads; ++i) {
    const int c = static_cast<int>(threadIdx.x) + i * Cfg::threads;
    const int row = c / Cfg::chunks, col = (c % Cfg::chunks) * 8;
    const bool valid = row0 + row < t;
    const T* src = head + static_cast<std::ptrdiff_t>(valid ? row0 + row : 0) * Cfg::head_dim + col;
    cp_async_16(tile + tile_offset<Cfg>(row, col), src, valid);
  }
}

}  // namespace detail

/// One (query block, head) per thread block; warp w owns rows [w·rows_per_warp, (w+1)·rows_per_warp)
/// of the block. Blocks are numbered query-block-major with the last query block first, so under
/// causal masking the longest blocks of every head start first.
template <typename T, typename Cfg, bool Causal>
__global__ void __launch_bounds__(Cfg::threads) flash_forward(const flash_params p) {
  using ops = detail::half_ops<T>;
  constexpr int D = Cfg::head_dim, BM = Cfg::query_block, BN = Cfg::key_block, R = Cfg::row_tiles;
  constexpr int k_steps = D / 16;       // mma k-steps of S = Q·Kᵀ
  constexpr int s_tiles = BN / 8;       // n8 tiles of S per warp
  constexpr int o_tiles = D / 8;        // n8 tiles of O per warp
  extern __shared__ __align__(128) unsigned char smem_raw[];
  T* const q_s = reinterpret_cast<T*>(smem_raw);  // [BM][D], later the output staging tile
  T* const k_s = q_s + BM * D;                     // [stages][BN][D]
  T* const v_s = k_s + Cfg::kv_stages * BN * D;    // [stages][BN][D]

  const int t = p.t;
  const unsigned m_blocks = (static_cast<unsigned>(t) + BM - 1) / BM;
  const unsigned bh = blockIdx.x % p.heads;
  const int m0 = static_cast<int>(m_blocks - 1 - blockIdx.x / p.heads) * BM;
  const std::size_t head_offset = static_cast<std::size_t>(bh) * t * D;
  const T* const q = static_cast<const T*>(p.q) + head_offset;
  const T* const k = static_cast<const T*>(p.k) + head_offset;
  const T* const v = static_cast<const T*>(p.v) + head_offset;
  T* const o = static_cast<T*>(p.o) + head_offset;

  const int warp = static_cast<int>(threadIdx.x) >> 5, lane = static_cast<int>(threadIdx.x) & 31;
  const int group = lane >> 2, quad_lane = lane & 3;  // mma fragment coordinates
  const int warp_row0 = warp * Cfg::rows_per_warp;    // the warp's first row in the block
  // This thread's query rows: m0 + warp_row0 + 16·mt + group (+ 8), mt < R.

  const int key_end = Causal ? min(t, m0 + BM) : t;  // keys after the block's last query: skipped
  const int n_tiles = (key_end + BN - 1) / BN;       // ≥ 1 since t ≥ 1

  detail::load_tile<Cfg, BM>(q_s, q, m0, t);
  detail::load_tile<Cfg, BN>(k_s, k, 0, t);
  detail::load_tile<Cfg, BN>(v_s, v, 0, t);
  detail::cp_async_commit();

  std::uint32_t q_frag[Cfg::q_in_registers ? k_steps : 1][4];
  float o_acc[R][o_tiles][4];
  float row_max[R][2], row_sum[R][2];  // raw (unscaled) running max; this thread's partial sums
#pragma unroll
  for (int mt = 0; mt < R; ++mt) {
#pragma unroll
    for (int i = 0; i < o_tiles; ++i) o_acc[mt][i][0] = o_acc[mt][i][1] = o_acc[mt][i][2] = o_acc[mt][i][3] = 0.0f;
    row_max[mt][0] = row_max[mt][1] = -INFINITY;
    row_sum[mt][0] = row_sum[mt][1] = 0.0f;  // the quad reduces them at the end
  }

  for (int j = 0; j < n_tiles; ++j) {
    const int stage = Cfg::pipelined ? (j & 1) : 0;
    if constexpr (Cfg::pipelined) {
      if (j + 1 < n_tiles) {  // the other stage was released by the barrier that ended step j − 1
        detail::load_tile<Cfg, BN>(k_s + (stage ^ 1) * BN * D, k, (j + 1) * BN, t);
        detail::load_tile<Cfg, BN>(v_s + (stage ^ 1) * BN * D, v, (j + 1) * BN, t);
        detail::cp_async_commit();
        detail::cp_async_wait<1>();  // tile j (and Q) landed; tile j + 1 still in flight
      } else {
        detail::cp_async_wait<0>();
      }
    } else {
      detail::cp_async_wait<0>();
    }
    __syncthreads();
    const T* const ks = k_s + stage * BN * D;
    const T* const vs = v_s + stage * BN * D;

    // Q's A fragment of row tile mt, k-step kk (lanes 0-15 address rows 0-15 at column 0, lanes 16-31 at 8).
    auto load_q = [&](std::uint32_t(&a)[4], int mt, int kk) {
      detail::ldmatrix_x4(a, q_s + detail::tile_offset<Cfg>(warp_row0 + mt * 16 + (lane & 15), kk * 16 + (lane >> 4) * 8));
    };
    if constexpr (Cfg::q_in_registers) {
      if (j == 0) {
#pragma unroll
        for (int kk = 0; kk < k_steps; ++kk) load_q(q_frag[kk], 0, kk);
      }
    }

    // S = Q·Kᵀ for this warp's rows × BN keys. One ldmatrix.x4 gives the B fragments of two n8 tiles,
    // used by every row tile of the warp.
    float s[R][s_tiles][4];
#pragma unroll
    for (int mt = 0; mt < R; ++mt)
#pragma unroll
      for (int i = 0; i < s_tiles; ++i) s[mt][i][0] = s[mt][i][1] = s[mt][i][2] = s[mt][i][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < k_steps; ++kk) {
      std::uint32_t a[R][4];
#pragma unroll
      for (int mt = 0; mt < R; ++mt) {
        if constexpr (Cfg::q_in_registers) {
#pragma unroll
          for (int e = 0; e < 4; ++e) a[mt][e] = q_frag[kk][e];
        } else {
          load_q(a[mt], mt, kk);
        }
      }
#pragma unroll
      for (int np = 0; np < s_tiles / 2; ++np) {
        std::uint32_t b[4];
        detail::ldmatrix_x4(b, ks + detail::tile_offset<Cfg>(np * 16 + (lane & 7) + ((lane >> 4) << 3),
                                                               kk * 16 + ((lane >> 3) & 1) * 8));
#pragma unroll
        for (int mt = 0; mt < R; ++mt) {
          ops::mma(s[mt][2 * np], a[mt], b[0], b[1]);
          ops::mma(s[mt][2 * np + 1], a[mt], b[2], b[3]);
        }
      }
    }

    // Keys past t (zero-filled) and, on tiles that reach past the block's first query, keys after the row.
    const int n0 = j * BN;
    if (n0 + BN > t || (Causal && n0 + BN - 1 > m0)) {
#pragma unroll
      for (int mt = 0; mt < R; ++mt)
#pragma unroll
        for (int nt = 0; nt < s_tiles; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int key = n0 + nt * 8 + quad_lane * 2 + (e & 1);
            const int row = m0 + warp_row0 + mt * 16 + group + (e >> 1) * 8;
            if (key >= t || (Causal && key > row)) s[mt][nt][e] = -INFINITY;
          }
    }

    // Online softmax: new running max, rescale of the running sum and of O, p = exp2((s − max)·τ·log2 e).
#pragma unroll
    for (int mt = 0; mt < R; ++mt)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float mx = row_max[mt][r];
#pragma unroll
        for (int nt = 0; nt < s_tiles; ++nt) mx = fmaxf(mx, fmaxf(s[mt][nt][2 * r], s[mt][nt][2 * r + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));  // the quad holds the row
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float max_scaled = mx == -INFINITY ? 0.0f : mx * p.scale_log2;  // a row with nothing visible yet
        const float correction = exp2f(row_max[mt][r] * p.scale_log2 - max_scaled);  // 0 on the first visible tile
        row_max[mt][r] = mx;
        float sum = 0.0f;
#pragma unroll
        for (int nt = 0; nt < s_tiles; ++nt) {
          s[mt][nt][2 * r] = exp2f(fmaf(s[mt][nt][2 * r], p.scale_log2, -max_scaled));
          s[mt][nt][2 * r + 1] = exp2f(fmaf(s[mt][nt][2 * r + 1], p.scale_log2, -max_scaled));
          sum += s[mt][nt][2 * r] + s[mt][nt][2 * r + 1];
        }
        row_sum[mt][r] = row_sum[mt][r] * correction + sum;
#pragma unroll
        for (int dt = 0; dt < o_tiles; ++dt) {
          o_acc[mt][dt][2 * r] *= correction;
          o_acc[mt][dt][2 * r + 1] *= correction;
        }
      }

    // O += P·V: S's accumulator layout of two adjacent n8 tiles is the A fragment of one k16 step.
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      std::uint32_t a[R][4];
#pragma unroll
      for (int mt = 0; mt < R; ++mt) {
        a[mt][0] = ops::pack(s[mt][2 * kk][0], s[mt][2 * kk][1]);
        a[mt][1] = ops::pack(s[mt][2 * kk][2], s[mt][2 * kk][3]);
        a[mt][2] = ops::pack(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
        a[mt][3] = ops::pack(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
      }
#pragma unroll
      for (int dp = 0; dp < o_tiles / 2; ++dp) {
        std::uint32_t b[4];
        detail::ldmatrix_x4_trans(b, vs + detail::tile_offset<Cfg>(kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8,
                                                                    dp * 16 + (lane >> 4) * 8));
#pragma unroll
        for (int mt = 0; mt < R; ++mt) {
          ops::mma(o_acc[mt][2 * dp], a[mt], b[0], b[1]);
          ops::mma(o_acc[mt][2 * dp + 1], a[mt], b[2], b[3]);
        }
      }
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
    if constexpr (!Cfg::pipelined) {
      if (j + 1 < n_tiles) {
        detail::load_tile<Cfg, BN>(k_s, k, (j + 1) * BN, t);
        detail::load_tile<Cfg, BN>(v_s, v, (j + 1) * BN, t);
        detail::cp_async_commit();
      }
    }
  }

  // Normalise, stage the block's output in the (no longer needed) Q tile, then 16-byte coalesced stores.
  // The key loop's last barrier ordered every warp's last read of Q (registers or not) before these writes.
#pragma unroll
  for (int mt = 0; mt < R; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float total = row_sum[mt][r];
      total += __shfl_xor_sync(0xffffffffu, total, 1);
      total += __shfl_xor_sync(0xffffffffu, total, 2);
      const float inv = 1.0f / total;  // ≥ 1 term: key 0 is visible to every row
      const int row = warp_row0 + mt * 16 + group + r * 8;
#pragma unroll
      for (int dt = 0; dt < o_tiles; ++dt) {
        const std::uint32_t packed = ops::pack(o_acc[mt][dt][2 * r] * inv, o_acc[mt][dt][2 * r + 1] * inv);
        *reinterpret_cast<std::uint32_t*>(q_s + detail::tile_offset<Cfg>(row, dt * 8 + quad_lane * 2)) = packed;
      }
    }
  __syncthreads();
#pragma unroll
  for (int i = 0; i < BM * Cfg::chunks / Cfg::threads; ++i) {
    const int c = static_cast<int>(threadIdx.x) + i * Cfg::threads;
    const int row = c / Cfg::chunks, col = (c % Cfg::chunks) * 8;
    if (m0 + row < t)
      *reinterpret_cast<uint4*>(o + static_cast<std::ptrdiff_t>(m0 + row) * D + col) =
          *reinterpret_cast<const uint4*>(q_s + detail::tile_offset<Cfg>(row, col));
  }
}

/// Blocks one launch needs: query blocks × heads (the grid is one-dimensional).
template <typename Cfg>
[[nodiscard]] inline long long flash_grid_blocks(long long heads, int t) {
  return heads * ((static_cast<long long>(t) + Cfg::query_block - 1) / Cfg::query_block);
}

/// Enqueue one forward pass; returns the launch's error (cudaSuccess when it was accepted).
/// Callers check t ≥ 1, 16-byte aligned pointers and a grid of at most 2^31 − 1 blocks.
template <typename T, typename Cfg, bool Causal>
cudaError_t launch_flash(const flash_params& p, cudaStream_t stream) {
  const auto kernel = flash_forward<T, Cfg, Causal>;
  if constexpr (Cfg::smem_bytes > 48 * 1024) {
    // Once per instance and process (the harness uses one device per process); a failure is kept.
    static const cudaError_t opted_in =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(Cfg::smem_bytes));
    if (opted_in != cudaSuccess) return opted_in;
  }
  const long long blocks = flash_grid_blocks<Cfg>(p.heads, p.t);
  kernel<<<static_cast<unsigned>(blocks), Cfg::threads, Cfg::smem_bytes, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace sb::dense_flash_cuda
