// SEA stage 2 on CUDA (topk_cuda.hpp): one block per query row, radix select on the float bits.
#include "attention_variants/sea/topk_cuda.hpp"

#include <cub/block/block_scan.cuh>

#include <cstdint>
#include <limits>

#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/sea_device.cuh"
#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_error.hpp"

namespace sb::sea::gpu {
namespace {

constexpr int threads = 256;

/// Order-preserving key of a cell value: larger value → larger key. NaN maps to −∞'s key and −0 to +0's,
/// so equal keys are exactly the values the CPU's comparison treats as equal.
__device__ __forceinline__ std::uint32_t order_key(float v) {
  if (isnan(v)) v = -INFINITY;
  if (v == 0.0f) v = 0.0f;
  const std::uint32_t u = __float_as_uint(v);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

struct row_geometry {
  upsample_mode mode;
  int L, K;
  __device__ bool nonempty(int bin) const { return bin_start(mode, L, K, bin + 1) > bin_start(mode, L, K, bin); }
};

/// The `want` best of the candidates (h, bin) for h in [h0, h1), all non-empty bins, written ascending to
/// out. Every thread of the block calls it.
__device__ void select_cells(const float* ahat_row, std::int64_t head_stride, int h0, int h1, int K,
                             const row_geometry& g, int want, std::int32_t* out) {
  using scan_t = cub::BlockScan<int, threads>;
  __shared__ typename scan_t::TempStorage scan_tmp;
  __shared__ unsigned hist[256];
  __shared__ std::uint32_t s_prefix;
  __shared__ int s_remaining, s_written, s_ties_seen;
  const int n = (h1 - h0) * K;
  auto key_at = [&](int i) { return order_key(ahat_row[(h0 + i / K) * head_stride + i % K]); };

  // Radix select, 8 bits per pass from the top: after the pass at `shift`, s_prefix holds the threshold's
  // bits above shift and s_remaining how many of the keys sharing them still have to be taken.
  if (threadIdx.x == 0) {
    s_prefix = 0;
    s_remaining = want;
  }
  std::uint32_t mask = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int i = threadIdx.x; i < 256; i += blockDim.x) hist[i] = 0;
    __syncthreads();
    const std::uint32_t prefix = s_prefix;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      if (!g.nonempty(i % K)) continue;
      const std::uint32_t key = key_at(i);
      if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 0xFFu], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int remaining = s_remaining;
      int digit = 255;
      for (; digit > 0; --digit) {
        if (static_cast<int>(hist[digit]) >= remaining) break;
        remaining -= static_cast<int>(hist[digit]);
      }
      s_prefix = prefix | (static_cast<std::uint32_t>(digit) << shift);
      s_remaining = remaining;
    }
    mask |= 0xFFu << shift;
    __syncthreads();
  }
  const std::uint32_t threshold = s_prefix;
  const int ties_to_take = s_remaining;  // keys equal to the threshold, lowest index first
  if (threadIdx.x == 0) {
    s_written = 0;
    s_ties_seen = 0;
  }
  __syncthreads();
  // Emit in flat-index order, a block-wide chunk at a time.
  for (int base = 0; base < n; base += blockDim.x) {
    const int i = base + threadIdx.x;
    std::uint32_t key = 0;
    bool ok = i < n && g.nonempty(i % K);
    if (ok) key = key_at(i);
    const int tie = ok && key == threshold ? 1 : 0;
    int tie_rank = 0, tie_total = 0;
    scan_t(scan_tmp).ExclusiveSum(tie, tie_rank, tie_total);
    __syncthreads();
    const int keep = ok && (key > threshold || (tie && s_ties_seen + tie_rank < ties_to_take)) ? 1 : 0;
    int pos = 0, kept = 0;
    scan_t(scan_tmp).ExclusiveSum(keep, pos, kept);
    if (keep) out[s_written + pos] = static_cast<std::int32_t>((h0 + i / K) * K + i % K);
    __syncthreads();
    if (threadIdx.x == 0) {
      s_written += kept;
      s_ties_seen += tie_total;
    }
    __syncthreads();
  }
}

/// Rows with at most warp_max_candidates candidates per selection (every shape of the paper: H·K ≤ 1024):
/// one warp per row, candidates staged in shared memory as 64-bit composites (order key above, inverted
/// flat index below, 0 for an empty bin), so "better" is a plain comparison and no two candidates tie.
/// A candidate is kept when fewer than `want` candidates beat it (its rank); ranks are counted, not sorted.
/// The kept ones are written in flat-index order with a ballot prefix count.
constexpr int warp_max_candidates = 1024;
constexpr int warps_per_block = 4;

__device__ __forceinline__ std::uint64_t composite(std::uint32_t key, int index) {
  return (static_cast<std::uint64_t>(key) << 32) | (0xFFFFFFFFu - static_cast<std::uint32_t>(index));
}

__device__ void warp_select(const float* ahat_row, std::int64_t head_stride, int h0, int h1, int K,
                            const row_geometry& g, int want, std::int32_t* out, std::uint64_t* cand) {
  const int lane = threadIdx.x & 31;
  const int n = (h1 - h0) * K;
  for (int i = lane; i < n; i += 32) {
    const int bin = i % K;
    cand[i] = g.nonempty(bin) ? composite(order_key(ahat_row[(h0 + i / K) * head_stride + bin]), h0 * K + i) : 0;
  }
  __syncwarp();
  int written = 0;
  for (int base = 0; base < n; base += 32) {
    const int i = base + lane;
    bool keep = false;
    if (i < n && cand[i] != 0) {
      const std::uint64_t mine = cand[i];
      int beaten_by = 0;
      for (int j = 0; j < n && beaten_by < want; ++j) beaten_by += cand[j] > mine;
      keep = beaten_by < want;
    }
    const unsigned mask = __ballot_sync(0xffffffffu, keep);
    if (keep) out[written + __popc(mask & ((1u << lane) - 1u))] = static_cast<std::int32_t>(h0 * K + i);
    written += __popc(mask);
  }
  __syncwarp();
}

__global__ void __launch_bounds__(warps_per_block * 32)
    topk_rows_warp(const float* ahat, const std::int64_t* row_ptr, std::int32_t* cells, long long rows, int T, int H,
                   int K, int te, int skip, int causal, upsample_mode mode, int per_head) {
  extern __shared__ std::uint64_t cand_smem[];  // [warps_per_block, candidates per selection]
  const int warp = threadIdx.x / 32;
  const long long r = static_cast<long long>(blockIdx.x) * warps_per_block + warp;
  if (r >= rows) return;
  const int n = per_head ? K : H * K;
  std::uint64_t* cand = cand_smem + static_cast<long long>(warp) * n;
  const int b = static_cast<int>(r / T), t = static_cast<int>(r % T);
  const row_geometry g{mode, visible_keys(causal != 0, T, t), K};
  const std::int64_t head_stride = static_cast<std::int64_t>(te) * K;
  const float* row = ahat + (static_cast<std::int64_t>(b) * H * te + t / skip) * K;
  std::int32_t* out = cells + row_ptr[r];
  const int want = static_cast<int>(row_ptr[r + 1] - row_ptr[r]);
  if (!per_head) {
    warp_select(row, head_stride, 0, H, K, g, want, out, cand);
    return;
  }
  const int each = want / H;
  for (int h = 0; h < H; ++h) warp_select(row, head_stride, h, h + 1, K, g, each, out + h * each, cand);
}

__global__ void __launch_bounds__(threads)
    topk_rows(const float* ahat, const std::int64_t* row_ptr, std::int32_t* cells, int T, int H, int K, int te,
              int skip, int causal, upsample_mode mode, int per_head) {
  const std::int64_t r = blockIdx.x;
  const int b = static_cast<int>(r / T), t = static_cast<int>(r % T);
  const row_geometry g{mode, visible_keys(causal != 0, T, t), K};
  const std::int64_t head_stride = static_cast<std::int64_t>(te) * K;
  const float* row = ahat + (static_cast<std::int64_t>(b) * H * te + t / skip) * K;
  std::int32_t* out = cells + row_ptr[r];
  const int want = static_cast<int>(row_ptr[r + 1] - row_ptr[r]);
  if (!per_head) {
    select_cells(row, head_stride, 0, H, K, g, want, out);
    return;
  }
  const int each = want / H;  // query mode: the same budget for every head of the row
  for (int h = 0; h < H; ++h) {
    select_cells(row, head_stride, h, h + 1, K, g, each, out + h * each);
    __syncthreads();
  }
}

}  // namespace

void grouped_topk(const problem& p, const config& c, const float* ahat, const std::int64_t* row_ptr,
                  std::int32_t* cells, cudaStream_t stream) {
  if (c.topk == topk_mode::batch)
    throw unsupported_case("sea on CUDA: topk_mode=batch (one selection over a whole sample) is not implemented "
                           "on the GPU; use causal_batch or query, or the CPU");
  const std::int64_t rows = static_cast<std::int64_t>(p.batch) * p.seq_len;
  if (rows <= 0) return;
  if (rows > std::numeric_limits<int>::max()) throw unsupported_case("sea on CUDA: more than 2^31 - 1 query rows");
  const int per_head = c.topk == topk_mode::query ? 1 : 0;
  const long long candidates = per_head ? c.K : static_cast<long long>(p.heads) * c.K;
  if (candidates <= warp_max_candidates) {
    const long long blocks = (rows + warps_per_block - 1) / warps_per_block;
    const std::size_t shared = warps_per_block * static_cast<std::size_t>(candidates) * sizeof(std::uint64_t);
    topk_rows_warp<<<static_cast<unsigned>(blocks), warps_per_block * 32, shared, stream>>>(
        ahat, row_ptr, cells, rows, p.seq_len, p.heads, c.K, c.estimator_rows(p.seq_len), c.query_skip,
        p.causal ? 1 : 0, c.upsample, per_head);
  } else {
    topk_rows<<<static_cast<unsigned>(rows), threads, 0, stream>>>(
        ahat, row_ptr, cells, p.seq_len, p.heads, c.K, c.estimator_rows(p.seq_len), c.query_skip, p.causal ? 1 : 0,
        c.upsample, per_head);
  }
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::sea::gpu
