// SEA stage 3 on CUDA (flat_csr_cuda.hpp): count pass, exclusive scan, fill pass.
#include "attention_variants/sea/flat_csr_cuda.hpp"

#include <cub/device/device_scan.cuh>

#include <limits>

#include "attention_variants/sea/bins.hpp"
#include "harness/core/errors.hpp"
#include "harness/cuda/cuda_error.hpp"

namespace sb::sea::gpu {
namespace {

struct keep_rule {
  upsample_mode mode;
  int K, k;
  double oversample;
};

/// Row r: kept keys per cell → cell_off (relative to the row start), per-head offsets → hoff, and the
/// row's total → counts[r] (scanned into row_ptr afterwards, out of place). counts[rows] = 0 so the scan's last
/// element is nnz.
__global__ void count_rows(const std::int64_t* sel_row_ptr, const std::int32_t* cells, std::int64_t rows, int T,
                           int H, int causal, keep_rule rule, std::int32_t* hoff, std::int32_t* cell_off,
                           std::int64_t* counts) {
  const std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r == rows) counts[rows] = 0;
  if (r >= rows) return;
  const int L = visible_keys(causal != 0, T, static_cast<int>(r % T));
  std::int32_t* ho = hoff + r * (H + 1);
  int head = 0, total = 0;
  ho[0] = 0;
  for (std::int64_t i = sel_row_ptr[r]; i < sel_row_ptr[r + 1]; ++i) {
    const int h = cells[i] / rule.K, bin = cells[i] % rule.K;
    while (head < h) ho[++head] = total;  // heads without cells get empty segments
    const int n = bin_start(rule.mode, L, rule.K, bin + 1) - bin_start(rule.mode, L, rule.K, bin);
    cell_off[i] = total;
    total += cell_keep(rule.mode, n, rule.k, rule.oversample);
  }
  while (head < H) ho[++head] = total;
  counts[r] = total;
}

/// One warp per row, one lane per cell: each cell's keys at its offset.
__global__ void fill_rows(const std::int64_t* sel_row_ptr, const std::int32_t* cells, const std::int32_t* cell_off,
                          const std::int64_t* row_ptr, std::int64_t rows, int T, int causal, keep_rule rule,
                          std::int32_t* col) {
  const std::int64_t r = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (r >= rows) return;
  const int L = visible_keys(causal != 0, T, static_cast<int>(r % T));
  for (std::int64_t i = sel_row_ptr[r] + lane; i < sel_row_ptr[r + 1]; i += 32) {
    const int bin = cells[i] % rule.K;
    const int lo = bin_start(rule.mode, L, rule.K, bin), hi = bin_start(rule.mode, L, rule.K, bin + 1);
    emit_cell_keys(lo, hi, cell_keep(rule.mode, hi - lo, rule.k, rule.oversample), col + row_ptr[r] + cell_off[i]);
  }
}

std::size_t scan_scratch_bytes(std::int64_t n) {
  std::size_t bytes = 0;
  SB_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, bytes, static_cast<std::int64_t*>(nullptr),
                                              static_cast<std::int64_t*>(nullptr), n));
  return bytes;
}

}  // namespace

device_flat_csr upsample(const problem& p, const config& c, const std::int64_t* sel_row_ptr,
                         const std::int32_t* cells, std::int64_t total_cells, std::int64_t max_nnz,
                         cudaStream_t stream) {
  const std::int64_t rows = static_cast<std::int64_t>(p.batch) * p.seq_len;
  if (rows + 1 > std::numeric_limits<int>::max())
    throw unsupported_case("sea on CUDA: more than 2^31 - 2 query rows");
  const keep_rule rule{c.upsample, c.K, c.k, c.k_oversample};
  device_flat_csr csr;
  csr.row_ptr = cuda::device_buffer<std::int64_t>(static_cast<std::size_t>(rows) + 1, stream);
  csr.hoff = cuda::device_buffer<std::int32_t>(static_cast<std::size_t>(rows) * (p.heads + 1), stream);
  cuda::device_buffer<std::int32_t> cell_off(static_cast<std::size_t>(total_cells > 0 ? total_cells : 1), stream);
  constexpr int block = 256;
  {
    cuda::device_buffer<std::int64_t> counts(static_cast<std::size_t>(rows) + 1, stream);
    count_rows<<<static_cast<unsigned>((rows + 1 + block - 1) / block), block, 0, stream>>>(
        sel_row_ptr, cells, rows, p.seq_len, p.heads, p.causal ? 1 : 0, rule, csr.hoff.data(), cell_off.data(),
        counts.data());
    SB_CUDA_CHECK_LAUNCH();
    std::size_t bytes = scan_scratch_bytes(rows + 1);
    cuda::device_buffer<std::uint8_t> scratch(bytes > 0 ? bytes : 1, stream);
    SB_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(scratch.data(), bytes, counts.data(), csr.row_ptr.data(), rows + 1,
                                                stream));
  }
  csr.col = cuda::device_buffer<std::int32_t>(static_cast<std::size_t>(max_nnz > 0 ? max_nnz : 1), stream);
  const std::int64_t fill_threads = rows * 32;
  fill_rows<<<static_cast<unsigned>((fill_threads + block - 1) / block), block, 0, stream>>>(
      sel_row_ptr, cells, cell_off.data(), csr.row_ptr.data(), rows, p.seq_len, p.causal ? 1 : 0, rule,
      csr.col.data());
  SB_CUDA_CHECK_LAUNCH();
  return csr;
}

}  // namespace sb::sea::gpu
