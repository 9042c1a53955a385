#include "attention_variants/dense_cudnn/cudnn_library.hpp"

#ifdef SEABENCH_HAVE_CUDA

#include <dlfcn.h>

#include <array>
#include <type_traits>

#include "harness/core/errors.hpp"

namespace sb::cudnn {
namespace {

struct loaded_library {
  api fns;
  std::string reason;  ///< empty when usable
};

loaded_library open_library() {
  loaded_library out;
  void* lib = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);  // kept open for the process
  if (!lib) {
    const char* why = dlerror();
    out.reason = std::string("cannot load libcudnn.so.9: ") + (why ? why : "dlopen failed");
    return out;
  }
  auto load = [&](auto& fn, const char* name, bool required) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (!fn && required && out.reason.empty()) out.reason = std::string("libcudnn.so.9 has no ") + name;
  };
  api& a = out.fns;
  load(a.get_version, "cudnnGetVersion", true);
  load(a.error_string, "cudnnGetErrorString", true);
  load(a.last_error_string, "cudnnGetLastErrorString", false);
  load(a.create, "cudnnCreate", true);
  load(a.destroy, "cudnnDestroy", true);
  load(a.set_stream, "cudnnSetStream", true);
  load(a.create_descriptor, "cudnnBackendCreateDescriptor", true);
  load(a.destroy_descriptor, "cudnnBackendDestroyDescriptor", true);
  load(a.set_attribute, "cudnnBackendSetAttribute", true);
  load(a.get_attribute, "cudnnBackendGetAttribute", true);
  load(a.finalize, "cudnnBackendFinalize", true);
  load(a.execute, "cudnnBackendExecute", true);
  if (!out.reason.empty()) return out;
  a.loaded = decode_version(a.get_version());
  if (auto why = runtime_unsupported_reason(a.loaded)) out.reason = *why;
  return out;
}

}  // namespace

const api& library() {
  static const loaded_library lib = open_library();
  if (!lib.reason.empty()) throw unsupported_case("dense_cudnn: " + lib.reason);
  return lib.fns;
}

std::string describe(cudnnStatus_t status) {
  const api& a = library();
  std::string out = a.error_string(status);
  if (a.last_error_string) {
    std::array<char, 1024> buf{};
    a.last_error_string(buf.data(), buf.size());
    if (buf[0] != '\0') out += std::string(": ") + buf.data();
  }
  return out;
}

}  // namespace sb::cudnn

#endif  // SEABENCH_HAVE_CUDA
