// Dataset entries: normalise to a JSON object with `kind`, find the registered source, let it
// validate and expand its own options, and prefix whatever it rejects with the file and key.
#include "harness/config/dataset_entries.hpp"

#include <fmt/format.h>

#include "harness/core/errors.hpp"

namespace sb::config {
namespace {

/// "gaussian" → {"kind": "gaussian"}; a table must name its kind.
nlohmann::json normalise(const config_source& src, const nlohmann::json& entry, const std::string& path) {
  if (entry.is_string()) return nlohmann::json{{"kind", entry}};
  if (!entry.is_object())
    src.fail(path, fmt::format("expected a dataset name or a table with 'kind', got {} {}", type_name(entry),
                               show(entry)));
  if (!entry.contains("kind"))
    src.fail(path,
             fmt::format("a dataset table needs a 'kind' (registered: {})", dataset_registry::instance().names()));
  (void)read_string(src, entry.at("kind"), join_key(path, "kind"));  // checks the type
  return entry;
}

const dataset_source& find_source(const config_source& src, const nlohmann::json& entry, const std::string& path) {
  const auto kind = entry.at("kind").get<std::string>();
  const dataset_source* source = dataset_registry::instance().find(kind);
  if (!source)
    src.fail(path, fmt::format("unknown dataset '{}' (registered: {})", kind, dataset_registry::instance().names()));
  return *source;
}

std::vector<nlohmann::json> expand_entry(const config_source& src, const dataset_source& source,
                                         const nlohmann::json& entry, const std::string& path) {
  try {
    return source.expand(entry, src.dir);
  } catch (const std::exception& e) {
    // The dataset names the option; this adds the file and the key path.
    src.fail(path, e.what());
  }
}

}  // namespace

std::vector<dataset_point> read_dataset_entries(const config_source& src, const nlohmann::json& value,
                                                const std::string& path) {
  const auto entries = as_list(src, value, path);
  std::vector<dataset_point> points;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string where = value.is_array() ? index_key(path, i) : path;
    const nlohmann::json entry = normalise(src, entries[i], where);
    const dataset_source& source = find_source(src, entry, where);
    for (auto& options : expand_entry(src, source, entry, where)) {
      std::string label = source.label(options);
      points.push_back({&source, std::move(options), std::move(label), where});
    }
  }
  return points;
}

void check_dataset_serves(const config_source& src, const dataset_point& point, const problem& p) {
  const auto reason = point.source->check(point.options, p);
  if (!reason) return;
  src.fail(point.path, fmt::format("dataset '{}' cannot serve batch={} heads={} seq_len={} head_dim={} dtype={}: {}",
                                   point.label, p.batch, p.heads, p.seq_len, p.head_dim, to_string(p.type), *reason));
}

}  // namespace sb::config
