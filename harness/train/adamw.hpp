// AdamW (Loshchilov & Hutter; PyTorch torch.optim.AdamW semantics) and global-norm gradient clipping
// (torch.nn.utils.clip_grad_norm_), for the distillation trainer. State per tensor: m, v; the step count
// is the caller's (it is saved in checkpoints).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sb::train {

struct adamw_settings {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

/// One step t (1-based) on one tensor: p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
/// p ← p − lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + eps). Element math in double, stored as float.
void adamw_step(const adamw_settings& s, std::int64_t t, std::span<float> p, std::span<const float> g,
                std::span<float> m, std::span<float> v);

/// Scale every gradient by max_norm/(norm + 1e-6) when their global L2 norm exceeds max_norm (max_norm ≤ 0:
/// no clipping). Returns the norm before clipping.
double clip_grad_norm(const std::vector<std::span<float>>& grads, double max_norm);

}  // namespace sb::train
