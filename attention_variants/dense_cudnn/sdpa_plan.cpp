// The fused SDPA graph of sdpa_plan.hpp, built with backend descriptors.
#include "attention_variants/dense_cudnn/sdpa_plan.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <array>
#include <limits>
#include <stdexcept>
#include <utility>

#include "attention_variants/dense_cudnn/cudnn_library.hpp"
#include "harness/core/errors.hpp"

namespace sb::cudnn {
namespace {

using dims4 = std::array<std::int64_t, 4>;

// Unique ids of the tensors the caller binds; the virtual intermediates start at 100.
constexpr std::int64_t uid_q = 1, uid_k = 2, uid_v = 3, uid_o = 4, uid_scale = 5, uid_lowest = 6;

void check(cudnnStatus_t status, const std::string& what) {
  if (status != CUDNN_STATUS_SUCCESS) throw unsupported_case("dense_cudnn: " + what + ": " + describe(status));
}

void set(const descriptor& d, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, std::int64_t count,
         const void* value, const char* what) {
  check(library().set_attribute(d.get(), name, type, count, value), what);
}

void set_desc(const descriptor& d, cudnnBackendAttributeName_t name, const descriptor& value, const char* what) {
  cudnnBackendDescriptor_t raw = value.get();
  set(d, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw, what);
}

void finalize(const descriptor& d, const char* what) { check(library().finalize(d.get()), what); }

cudnnDataType_t io_type(dtype t) {
  switch (t) {
    case dtype::fp16: return CUDNN_DATA_HALF;
    case dtype::bf16: return CUDNN_DATA_BFLOAT16;
    case dtype::fp32: break;
  }
  throw unsupported_case("dense_cudnn: cuDNN's fused attention takes fp16 or bf16, not fp32");
}

/// Builds the graph's descriptors into `keep` and returns the operations in graph order.
class graph_builder {
 public:
  explicit graph_builder(std::deque<descriptor>& keep) : m_keep(keep) {}

  const descriptor& tensor(std::int64_t uid, dims4 dims, dims4 strides, cudnnDataType_t type, bool is_virtual,
                           bool by_value = false) {
    descriptor d(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    const std::int64_t alignment = 16;
    set(d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type, "tensor data type");
    set(d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims.data(), "tensor dimensions");
    set(d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides.data(), "tensor strides");
    set(d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid, "tensor id");
    set(d, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment, "tensor alignment");
    const bool yes = true;
    if (is_virtual) set(d, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &yes, "virtual tensor");
    if (by_value) set(d, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &yes, "by-value tensor");
    finalize(d, "tensor");
    return keep(std::move(d));
  }
  const descriptor& virtual_tensor(dims4 dims, dims4 strides, cudnnDataType_t type) {
    return tensor(m_next_uid++, dims, strides, type, true);
  }

  /// y = mode(x[, b][, t]) with math precision `prec` (and `axis` for GEN_INDEX).
  void pointwise(cudnnPointwiseMode_t mode, cudnnDataType_t prec, const descriptor& x, const descriptor* b,
                 const descriptor& y, const descriptor* t = nullptr, std::int64_t axis = -1) {
    descriptor pw(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    set(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode, "pointwise mode");
    set(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec, "pointwise precision");
    if (axis >= 0) set(pw, CUDNN_ATTR_POINTWISE_AXIS, CUDNN_TYPE_INT64, 1, &axis, "pointwise axis");
    finalize(pw, "pointwise descriptor");
    descriptor op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw, "pointwise op");
    set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x, "pointwise x");
    if (b) set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, *b, "pointwise b");
    set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y, "pointwise y");
    if (t) set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_TDESC, *t, "pointwise t");
    finalize(op, "pointwise operation");
    keep(std::move(pw));
    m_ops.push_back(keep(std::move(op)).get());
  }

  void matmul(const descriptor& a, const descriptor& b, const descriptor& c) {
    descriptor mm(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    set(mm, CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp, "matmul compute type");
    finalize(mm, "matmul descriptor");
    descriptor op(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
    set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_ADESC, a, "matmul a");
    set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_BDESC, b, "matmul b");
    set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_CDESC, c, "matmul c");
    set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_DESC, mm, "matmul op");
    finalize(op, "matmul operation");
    keep(std::move(mm));
    m_ops.push_back(keep(std::move(op)).get());
  }

  void reduction(cudnnReduceTensorOp_t mode, const descriptor& x, const descriptor& y) {
    descriptor red(CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
    const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    set(red, CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, &mode, "reduction mode");
    set(red, CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp, "reduction compute type");
    finalize(red, "reduction descriptor");
    descriptor op(CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR);
    set_desc(op, CUDNN_ATTR_OPERATION_REDUCTION_XDESC, x, "reduction x");
    set_desc(op, CUDNN_ATTR_OPERATION_REDUCTION_YDESC, y, "reduction y");
    set_desc(op, CUDNN_ATTR_OPERATION_REDUCTION_DESC, red, "reduction op");
    finalize(op, "reduction operation");
    keep(std::move(red));
    m_ops.push_back(keep(std::move(op)).get());
  }

  [[nodiscard]] const std::vector<cudnnBackendDescriptor_t>& ops() const { return m_ops; }

 private:
  const descriptor& keep(descriptor d) {
    m_keep.push_back(std::move(d));
    return m_keep.back();
  }
  std::deque<descriptor>& m_keep;  // a deque: references to earlier descriptors stay valid
  std::vector<cudnnBackendDescriptor_t> m_ops;
  std::int64_t m_next_uid = 100;
};

}  // namespace

descriptor::descriptor(cudnnBackendDescriptorType_t type) {
  check(library().create_descriptor(type, &m_d), "cudnnBackendCreateDescriptor");
}
descriptor::descriptor(descriptor&& o) noexcept : m_d(std::exchange(o.m_d, nullptr)) {}
descriptor& descriptor::operator=(descriptor&& o) noexcept {
  if (this != &o) {
    if (m_d) library().destroy_descriptor(m_d);
    m_d = std::exchange(o.m_d, nullptr);
  }
  return *this;
}
descriptor::~descriptor() {
  if (m_d) library().destroy_descriptor(m_d);
}

// CUDNN_ATTR_OPERATIONGRAPH_HANDLE and CUDNN_ATTR_EXECUTION_PLAN_HANDLE are marked deprecated in
// recent headers (only with CUDNN_WARN_DEPRECATED) but are the 9.0 way, accepted by every 9.x.
sdpa_plan::sdpa_plan(cudnnHandle_t handle, const sdpa_shape& s)
    : m_scale(s.scale), m_lowest(std::numeric_limits<float>::lowest()), m_causal(s.causal) {
  const cudnnDataType_t io = io_type(s.type);
  const cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
  const std::int64_t b = s.batch, h = s.heads, t = s.t, d = s.d;
  const dims4 qkv_dims{b, h, t, d}, qkv_strides{h * t * d, t * d, d, 1};
  const dims4 score_dims{b, h, t, t}, score_strides{h * t * t, t * t, t, 1};
  const dims4 row_dims{b, h, t, 1}, row_strides{h * t, t, 1, 1};
  const dims4 scalar{1, 1, 1, 1};

  graph_builder g(m_keep);
  const descriptor& q = g.tensor(uid_q, qkv_dims, qkv_strides, io, false);
  const descriptor& kt = g.tensor(uid_k, {b, h, d, t}, {h * t * d, t * d, 1, d}, io, false);  // Kᵀ view of K
  const descriptor& v = g.tensor(uid_v, qkv_dims, qkv_strides, io, false);
  const descriptor& o = g.tensor(uid_o, qkv_dims, qkv_strides, io, false);
  const descriptor& scale = g.tensor(uid_scale, scalar, scalar, f32, false, true);

  const descriptor& scores = g.virtual_tensor(score_dims, score_strides, f32);
  g.matmul(q, kt, scores);
  const descriptor* last = &g.virtual_tensor(score_dims, score_strides, f32);
  g.pointwise(CUDNN_POINTWISE_MUL, f32, scores, &scale, *last);
  if (s.causal) {
    const descriptor& lowest = g.tensor(uid_lowest, scalar, scalar, f32, false, true);
    const descriptor& row = g.virtual_tensor(score_dims, score_strides, CUDNN_DATA_INT32);
    const descriptor& col = g.virtual_tensor(score_dims, score_strides, CUDNN_DATA_INT32);
    const descriptor& keep = g.virtual_tensor(score_dims, score_strides, CUDNN_DATA_BOOLEAN);
    const descriptor& masked = g.virtual_tensor(score_dims, score_strides, f32);
    g.pointwise(CUDNN_POINTWISE_GEN_INDEX, CUDNN_DATA_INT32, *last, nullptr, row, nullptr, 2);
    g.pointwise(CUDNN_POINTWISE_GEN_INDEX, CUDNN_DATA_INT32, *last, nullptr, col, nullptr, 3);
    g.pointwise(CUDNN_POINTWISE_CMP_GE, CUDNN_DATA_BOOLEAN, row, &col, keep);
    g.pointwise(CUDNN_POINTWISE_BINARY_SELECT, f32, *last, &lowest, masked, &keep);
    last = &masked;
  }
  const descriptor& row_max = g.virtual_tensor(row_dims, row_strides, f32);
  const descriptor& centred = g.virtual_tensor(score_dims, score_strides, f32);
  const descriptor& e = g.virtual_tensor(score_dims, score_strides, f32);
  const descriptor& row_sum = g.virtual_tensor(row_dims, row_strides, f32);
  const descriptor& log_sum = g.virtual_tensor(row_dims, row_strides, f32);
  const descriptor& stats = g.virtual_tensor(row_dims, row_strides, f32);
  const descriptor& p = g.virtual_tensor(score_dims, score_strides, io);  // the backend wants P in the I/O type
  g.reduction(CUDNN_REDUCE_TENSOR_MAX, *last, row_max);
  g.pointwise(CUDNN_POINTWISE_SUB, f32, *last, &row_max, centred);
  g.pointwise(CUDNN_POINTWISE_EXP, f32, centred, nullptr, e);
  g.reduction(CUDNN_REDUCE_TENSOR_ADD, e, row_sum);
  g.pointwise(CUDNN_POINTWISE_LOG, f32, row_sum, nullptr, log_sum);
  g.pointwise(CUDNN_POINTWISE_ADD, f32, row_max, &log_sum, stats);
  g.pointwise(CUDNN_POINTWISE_DIV, f32, e, &row_sum, p);
  g.matmul(p, v, o);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  descriptor graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, static_cast<std::int64_t>(g.ops().size()),
      g.ops().data(), "operation graph ops");
  set(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle, "operation graph handle");
  finalize(graph, "operation graph (the fused attention pattern was rejected)");

  descriptor heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  set_desc(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph, "heuristics graph");
  const cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
  set(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode, "heuristics mode");
  finalize(heur, "engine heuristics");
  std::int64_t offered = 0;
  check(library().get_attribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &offered,
                                nullptr),
        "engine heuristics results");
  if (offered <= 0) throw unsupported_case("dense_cudnn: cuDNN's heuristics offer no engine for this attention graph");
  std::vector<descriptor> configs;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (std::int64_t i = 0; i < offered; ++i) {
    configs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    raw.push_back(configs.back().get());
  }
  std::int64_t returned = 0;
  check(library().get_attribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, offered,
                                &returned, raw.data()),
        "engine heuristics results");
  m_log = std::to_string(returned) + " engine configuration(s) offered";
  bool planned = false;
  for (std::int64_t i = 0; i < returned && !planned; ++i) {
    descriptor plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    cudnnStatus_t st = library().set_attribute(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1,
                                               &handle);
    if (st == CUDNN_STATUS_SUCCESS)
      st = library().set_attribute(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                                   CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw[static_cast<std::size_t>(i)]);
    if (st == CUDNN_STATUS_SUCCESS) st = library().finalize(plan.get());
    if (st != CUDNN_STATUS_SUCCESS) {
      m_log += "; config " + std::to_string(i) + ": " + describe(st);
      continue;
    }
    m_plan = std::move(plan);
    planned = true;
  }
#pragma GCC diagnostic pop
  if (!planned) throw unsupported_case("dense_cudnn: no engine configuration finalises (" + m_log + ")");
  std::int64_t count = 0;
  check(library().get_attribute(m_plan.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &count,
                                &m_workspace_bytes),
        "plan workspace size");
  m_keep.push_back(std::move(graph));
  m_keep.push_back(std::move(heur));
  for (auto& c : configs) m_keep.push_back(std::move(c));
}

void sdpa_plan::execute(cudnnHandle_t handle, const void* q, const void* k, const void* v, void* o, void* workspace) {
  const void* now[5] = {q, k, v, o, workspace};
  bool same = !m_pack.empty();
  for (int i = 0; i < 5 && same; ++i) same = now[i] == m_last[i];
  if (!same) {
    m_pack.clear();
    descriptor pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    std::vector<std::int64_t> uids{uid_q, uid_k, uid_v, uid_o, uid_scale};
    std::vector<void*> ptrs{const_cast<void*>(q), const_cast<void*>(k), const_cast<void*>(v), o, &m_scale};
    if (m_causal) {
      uids.push_back(uid_lowest);
      ptrs.push_back(&m_lowest);
    }
    auto fail = [](cudnnStatus_t st, const char* what) {
      if (st != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string("dense_cudnn: ") + what + ": " + describe(st));
    };
    fail(library().set_attribute(pack.get(), CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64,
                                 static_cast<std::int64_t>(uids.size()), uids.data()),
         "variant pack ids");
    fail(library().set_attribute(pack.get(), CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR,
                                 static_cast<std::int64_t>(ptrs.size()), ptrs.data()),
         "variant pack pointers");
    fail(library().set_attribute(pack.get(), CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace),
         "variant pack workspace");
    fail(library().finalize(pack.get()), "variant pack");
    m_pack.push_back(std::move(pack));
    for (int i = 0; i < 5; ++i) m_last[i] = now[i];
  }
  const cudnnStatus_t st = library().execute(handle, m_plan.get(), m_pack.front().get());
  if (st != CUDNN_STATUS_SUCCESS) throw std::runtime_error("dense_cudnn: cudnnBackendExecute: " + describe(st));
}

}  // namespace sb::cudnn

#endif  // SEABENCH_HAVE_CUDA
