// Token ids for a model: raw bytes (byte-level checkpoints, id = byte + 4) or a 1-D integer .npy
// written by the user's tokenizer.
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "harness/core/errors.hpp"
#include "harness/io/npy.hpp"
#include "harness/model/opt_model.hpp"

namespace sb::model {
namespace {

/// Ids 0..3 are OPT's special tokens (<s>, <pad>, </s>, <unk>); byte b is token b + 4.
constexpr std::int32_t byte_token_offset = 4;

std::vector<std::int32_t> byte_tokens(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw data_error(fmt::format("token file '{}': cannot open it", path));
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::int32_t> ids(bytes.size());
  for (std::size_t i = 0; i < bytes.size(); ++i)
    ids[i] = static_cast<std::int32_t>(static_cast<unsigned char>(bytes[i])) + byte_token_offset;
  return ids;
}

std::vector<std::int32_t> npy_tokens(const std::string& path) {
  const npy_header h = read_npy_header(path);
  if (h.type_char != 'i' || (h.item_bytes != 4 && h.item_bytes != 8))
    throw data_error(fmt::format("token file '{}': dtype {} is not supported (int32 '<i4' or int64 '<i8')", path,
                                 h.descr));
  if (h.shape.size() != 1)
    throw data_error(fmt::format("token file '{}': shape {} is not 1-D (a flat list of token ids)", path,
                                 h.shape_string()));
  if (!h.data_complete())
    throw data_error(fmt::format("token file '{}': truncated: {} of {} data bytes", path, h.available_data_bytes(),
                                 h.data_bytes()));
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(h.data_offset));
  std::vector<unsigned char> raw(h.data_bytes());
  in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
  if (!in) throw data_error(fmt::format("token file '{}': cannot read its data", path));
  std::vector<std::int32_t> ids(h.elements());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::uint64_t bits = 0;
    for (std::size_t b = h.item_bytes; b-- > 0;) bits = (bits << 8) | raw[i * h.item_bytes + b];
    const std::int64_t v = h.item_bytes == 4 ? static_cast<std::int64_t>(static_cast<std::int32_t>(bits))
                                             : static_cast<std::int64_t>(bits);
    if (v < 0 || v > INT32_MAX)
      throw data_error(fmt::format("token file '{}': token id {} at position {} is not a valid id", path, v, i));
    ids[i] = static_cast<std::int32_t>(v);
  }
  return ids;
}

}  // namespace

std::vector<std::int32_t> load_token_ids(const std::string& path, const std::string& tokens) {
  if (tokens == "byte+4") return byte_tokens(path);
  if (tokens == "npy") return npy_tokens(path);
  throw config_error(fmt::format("tokens = \"{}\" is not known (allowed: \"byte+4\" for raw bytes, \"npy\" for a 1-D "
                                 "int32/int64 .npy of token ids)",
                                 tokens));
}

}  // namespace sb::model
