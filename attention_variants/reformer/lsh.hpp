// Reformer LSH attention machinery (Kitaev et al., ICLR 2020), shared by the `reformer` variant and by
// variants built on it (scatterbrain). Everything here works on one (batch, head) at a time:
//
//   1. build_index: per round r, hash each position with a random rotation R_r
//      (h(x) = argmax([x·R_r ; −x·R_r])), then stable-sort positions by (bucket, position) and cut the
//      sorted order into chunks of c positions (the last chunk is ragged when c does not divide T).
//   2. attend: each chunk's queries attend to the keys of their own chunk and of the previous chunk in
//      the same round (chunk 0 wraps round to the last chunk, as in the original code; causal keeps only
//      keys j ≤ i). Keys are the queries normalised to unit length (shared-QK), and the score is
//      τ·q_i·k̂_j with τ = 1/√D (reformer-pytorch's scale). A query's own key gets the score −1e5, so it
//      is attended only when no other key is visible. With `dedup`, a pair seen in n rounds has log n
//      subtracted from its score in each, so the rounds' logsumexp combine counts it once and the result
//      is the exact softmax over the union of the rounds' windows.
//   3. row_keys: that union (the support) of one row.
//
// The rounds are combined online (running logsumexp), so one head needs O(n_hashes·T + c·D + c²)
// working memory besides its output rows; head_workspace holds it all in tracked buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "harness/core/memory_tracker.hpp"
#include "harness/core/params.hpp"
#include "harness/core/types.hpp"

namespace sb::lsh {

/// Score of a query's own key (the HF Reformer fp32 self-mask value; reformer-pytorch uses −5e4).
/// Either underflows to weight 0 in fp32 as soon as the row has any other visible key.
inline constexpr float self_score = -1e5f;

/// How the bucket count follows from T and the chunk length c when it is not given explicitly.
enum class bucket_rule {
  per_chunk,   ///< n_b = 2·⌈T/2c⌉: reformer-pytorch (`n_buckets = seqlen // bucket_size` on T padded to 2c)
  half_chunk,  ///< n_b = 2·⌈T/c⌉: Kitaev et al.'s n_b ≈ 2T/c (about two buckets per chunk)
};
/// The even bucket count (≥ 2) the rule gives for T and c.
[[nodiscard]] int auto_n_buckets(int seq_len, int chunk, bucket_rule rule);

struct config {
  int seq_len = 1;
  int head_dim = 1;    ///< D; values have the same width
  int chunk = 1;       ///< c: chunk length in sorted order (= the bucket size k of the sweep)
  int n_buckets = 2;   ///< n_b, even
  int n_hashes = 1;    ///< rounds
  bool causal = false;
  bool dedup = true;   ///< subtract log(#rounds containing the pair) from each pair's score
  float scale = 1.0f;  ///< τ in score = τ·q_i·k̂_j

  /// Chunks per round: ⌈T/c⌉.
  [[nodiscard]] int n_chunks() const { return (seq_len + chunk - 1) / chunk; }
  /// Positions of chunk `ch` in sorted order: [chunk_begin, chunk_end).
  [[nodiscard]] int chunk_begin(int ch) const { return ch * chunk; }
  [[nodiscard]] int chunk_end(int ch) const { return ch == n_chunks() - 1 ? seq_len : (ch + 1) * chunk; }
  /// The chunk `ch` looks back to (wrapping from 0 to the last), or −1 when there is only one chunk.
  [[nodiscard]] int prev_chunk(int ch) const {
    const int n = n_chunks();
    return n == 1 ? -1 : (ch == 0 ? n - 1 : ch - 1);
  }
  /// Longest chunk: min(c, T).
  [[nodiscard]] int chunk_len() const { return chunk < seq_len ? chunk : seq_len; }
  /// Most keys one chunk's window holds.
  [[nodiscard]] int max_window() const { return n_chunks() > 1 ? 2 * chunk_len() : chunk_len(); }
  /// Floats in the rotations array: n_hashes · D · n_b/2.
  [[nodiscard]] std::size_t rotation_count() const {
    return static_cast<std::size_t>(n_hashes) * head_dim * (n_buckets / 2);
  }
  /// Σ over one round's chunks of (queries × window keys): the score entries one round computes.
  [[nodiscard]] std::int64_t pairs_per_round() const;
};

/// The config for problem p with chunk length `chunk` and the parameters n_hashes, dedup, n_buckets
/// (0 = from bucket_rule) and bucket_rule ("half_chunk" or per_chunk) that reformer and scatterbrain
/// share; τ = p.scale().
[[nodiscard]] config make_config(const problem& p, const param_set& params, int chunk);

/// Fill rotations[r][d][j] (r < n_hashes, d < D, j < n_b/2; row-major) with N(0,1) draws from
/// counter_rng(seed, rng_stream::hashes): element e uses uniforms 2e and 2e+1 (Box-Muller). The same
/// rotations serve every batch and head (reformer-pytorch `random_rotations_per_head=False`).
void draw_rotations(const config& cfg, std::uint64_t seed, float* rotations);

/// Bucket (0 … n_b−1) of one vector under round r: argmax over [x·R_r ; −x·R_r], first maximum wins.
[[nodiscard]] int hash_vector(const config& cfg, const float* rotations, int round, const float* x);

/// Working memory for one head, reused across heads. All of it is tracked.
class head_workspace {
 public:
  explicit head_workspace(const config& cfg);
  /// What the constructor allocates, in bytes.
  [[nodiscard]] static std::size_t bytes(const config& cfg);

  // The index, valid after build_index:
  /// Bucket of each position in round r ([T], 0 … n_b−1; add r·n_b for a globally unique id).
  [[nodiscard]] const std::int32_t* buckets(int round) const { return m_buckets.data() + offset(round); }
  /// Positions in round r sorted by (bucket, position) ([T]).
  [[nodiscard]] const std::int32_t* sorted(int round) const { return m_sorted.data() + offset(round); }
  /// Chunk holding position `pos` in round r.
  [[nodiscard]] int chunk_of(int round, int pos) const {
    return m_chunk_of[static_cast<std::size_t>(pos) * m_n_hashes + round];
  }
  /// A [T] buffer a caller may pass as attend()'s lse output.
  [[nodiscard]] float* lse() { return m_lse.data(); }

 private:
  friend void build_index(const config&, const float*, const float*, head_workspace&);
  friend void attend(const config&, const float*, const float*, head_workspace&, float*, float*);
  [[nodiscard]] std::size_t offset(int round) const { return static_cast<std::size_t>(round) * m_seq_len; }

  int m_seq_len, m_n_hashes, m_tile_rows;
  tracked_buffer<std::int32_t> m_buckets;   // [n_hashes, T]
  tracked_buffer<std::int32_t> m_sorted;    // [n_hashes, T]
  tracked_buffer<std::int32_t> m_chunk_of;  // [T, n_hashes]
  tracked_buffer<std::int32_t> m_counts;    // [n_b + 1], counting sort
  tracked_buffer<float> m_hash_tile;        // [tile_rows, n_b/2]
  tracked_buffer<float> m_inv_norm;         // [T], 1/‖q_j‖
  tracked_buffer<float> m_lse;              // [T]
  tracked_buffer<std::int32_t> m_window;    // [max_window] key positions of one chunk
  tracked_buffer<std::int32_t> m_query_chunks;  // [2·n_hashes] own/previous chunk of one query per round
  tracked_buffer<float> m_q;                // [c, D] gathered queries
  tracked_buffer<float> m_k;                // [max_window, D] gathered unit keys
  tracked_buffer<float> m_v;                // [max_window, D] gathered values
  tracked_buffer<float> m_s;                // [c, max_window] scores, then probabilities
  tracked_buffer<float> m_o;                // [c, D] one round's chunk output
  tracked_buffer<float> m_round_lse;        // [c] one round's logsumexp per chunk query
  tracked_buffer<float> m_log_count;        // [n_hashes + 1] log n
};

/// Hash every round of one head (q: [T, D]) and sort: fills the workspace's index.
void build_index(const config& cfg, const float* rotations, const float* q, head_workspace& ws);

/// Attention of one head given its index (q, v: [T, D]). Writes out [T, D] = Σ_r w_r·o_r, the
/// rounds' outputs combined with weights softmax_r(ℓ_r), and lse [T] = log Σ_r exp(ℓ_r), where ℓ_r is
/// the row's logsumexp of (adjusted) scores in round r. With dedup, exp(lse_i) = Σ_{j∈U_i} exp(τ·q_i·k̂_j)
/// over the support U_i of row_keys (plus exp(−1e5) for the self key), so exp(lse_i)·out_i is the
/// unnormalised softmax numerator over the support. `lse` may be ws.lse().
void attend(const config& cfg, const float* q, const float* v, head_workspace& ws, float* out, float* lse);

/// Number of rounds in which key j lies in query i's window (own or previous chunk), ignoring masks.
[[nodiscard]] int pair_rounds(const config& cfg, const head_workspace& ws, int i, int j);

/// Keys row i attends (nonzero weight): the union over rounds of its window's keys that are visible
/// (causal: j ≤ i) other than i itself; {i} when that union is empty. Sorted ascending.
void row_keys(const config& cfg, const head_workspace& ws, int i, std::vector<std::int32_t>& keys);

/// Executed FLOPs of one head (multiply-add = 2): hashing T·D·n_b plus 2·(D + D)·pairs per round.
[[nodiscard]] double flops_per_head(const config& cfg);

}  // namespace sb::lsh
