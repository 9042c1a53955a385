// Row-major single-precision GEMM through OpenBLAS's CBLAS, with the thread count the worker chose.
#pragma once

namespace sb::blas {

/// C[m×n] = alpha · op(A) · op(B) + beta · C, all row-major with leading dimensions lda/ldb/ldc.
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
           int ldb, float beta, float* c, int ldc);

/// Threads OpenBLAS may use (the worker sets this once per case).
void set_threads(int n);
[[nodiscard]] int threads();

}  // namespace sb::blas
