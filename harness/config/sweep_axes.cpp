// Reading a sweep table's axes: each key is a scalar or a non-empty list, checked element-wise.
#include "harness/config/sweep_axes.hpp"

#include <fmt/format.h>

namespace sb::config {
namespace {

/// Replace `out` with the checked elements of `table[key]` when present (defaults stay otherwise).
template <class T, class Read>
void read_axis(const config_source& src, const nlohmann::json& table, const std::string& path, const char* key,
               std::vector<T>& out, Read read_one) {
  if (!table.contains(key)) return;
  const std::string where = join_key(path, key);
  out.clear();
  for (const auto& element : as_list(src, table.at(key), where)) out.push_back(read_one(element, where));
}

auto int_reader(const config_source& src, std::int64_t lo, std::int64_t hi) {
  return [&src, lo, hi](const nlohmann::json& v, const std::string& where) {
    return static_cast<int>(read_integer(src, v, where, lo, hi));
  };
}

dtype read_dtype(const config_source& src, const nlohmann::json& v, const std::string& where) {
  const auto name = v.is_string() ? dtype_from_string(v.get<std::string>()) : std::nullopt;
  if (!name) src.fail(where, fmt::format("unknown dtype {} (allowed: fp32, fp16, bf16)", show(v)));
  return *name;
}

void read_shape_axes(const config_source& src, const nlohmann::json& t, sweep_axes& a) {
  if (!t.contains("seq_len")) src.fail(a.path, "missing required key 'seq_len'");
  read_axis(src, t, a.path, "seq_len", a.seq_len, int_reader(src, 1, max_seq_len));
  read_axis(src, t, a.path, "k", a.k, int_reader(src, 1, max_seq_len));
  read_axis(src, t, a.path, "batch", a.batch, int_reader(src, 1, max_batch_or_heads));
  read_axis(src, t, a.path, "heads", a.heads, int_reader(src, 1, max_batch_or_heads));
  read_axis(src, t, a.path, "head_dim", a.head_dim, int_reader(src, 1, max_head_dim));
}

void read_kind_axes(const config_source& src, const nlohmann::json& t, sweep_axes& a) {
  read_axis(src, t, a.path, "dtype", a.dtypes,
            [&src](const nlohmann::json& v, const std::string& where) { return read_dtype(src, v, where); });
  read_axis(src, t, a.path, "causal", a.causal,
            [&src](const nlohmann::json& v, const std::string& where) { return read_bool(src, v, where); });
  read_axis(src, t, a.path, "seeds", a.seeds, [&src](const nlohmann::json& v, const std::string& where) {
    return static_cast<std::uint64_t>(read_integer(src, v, where, 0));
  });
}

}  // namespace

std::vector<std::string> axis_keys() {
  return {"name", "seq_len", "k", "batch", "heads", "head_dim", "dtype", "causal", "dataset", "seeds"};
}

sweep_axes read_sweep_axes(const config_source& src, const nlohmann::json& table, const std::string& path,
                           const std::vector<std::string>& extra_keys) {
  require_table(src, table, path);
  std::vector<std::string> allowed = axis_keys();
  allowed.insert(allowed.end(), extra_keys.begin(), extra_keys.end());
  check_keys(src, table, path, allowed);
  sweep_axes a;
  a.path = path;
  if (table.contains("name")) a.name = read_string(src, table.at("name"), join_key(path, "name"));
  read_shape_axes(src, table, a);
  read_kind_axes(src, table, a);
  a.datasets = read_dataset_entries(src, table.value("dataset", nlohmann::json("gaussian")), join_key(path, "dataset"));
  return a;
}

}  // namespace sb::config
