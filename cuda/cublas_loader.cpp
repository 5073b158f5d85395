// Run-time loading of cuBLAS (see cublas_loader.h).
#include "cublas_loader.h"

#include "common/error.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace logitscope::gpu {

namespace {

template <class F>
void bind(F& f, void* lib, const char* symbol)
{
    void* p = dlsym(lib, symbol);
    if (!p)
        throw Error(std::string("cuBLAS: symbol ") + symbol + " missing from the loaded libcublas");
    f = reinterpret_cast<F>(p);
}

CublasApi load()
{
    std::string tried;
    void* lib = nullptr;
    const char* names[] = {std::getenv("LOGITSCOPE_CUBLAS"), "libcublas.so.13", "libcublas.so"};
    const char* used = "";
    for (const char* name : names) {
        if (!name || !*name)
            continue;
        lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (lib) {
            used = name;
            break;
        }
        tried += std::string(tried.empty() ? "" : "; ") + dlerror();
    }
    if (!lib)
        throw Error("cuBLAS not found (" + tried + "); add the CUDA 13 library folder to LD_LIBRARY_PATH");
    CublasApi api;
    api.library = used;
    bind(api.create, lib, "cublasCreate_v2");
    bind(api.destroy, lib, "cublasDestroy_v2");
    bind(api.setStream, lib, "cublasSetStream_v2");
    bind(api.setWorkspace, lib, "cublasSetWorkspace_v2");
    bind(api.setMathMode, lib, "cublasSetMathMode");
    bind(api.gemmEx, lib, "cublasGemmEx");
    bind(api.gemmStridedBatchedEx, lib, "cublasGemmStridedBatchedEx");
    bind(api.statusString, lib, "cublasGetStatusString");
    return api; // the library stays loaded for the life of the process
}

} // namespace

const CublasApi& cublasApi()
{
    static std::mutex mutex;
    static CublasApi api;
    static bool loaded = false;
    std::lock_guard lock(mutex);
    if (!loaded) {
        api = load(); // throws, leaving `loaded` false so a later call can retry
        loaded = true;
    }
    return api;
}

void throwCublasError(cublasStatus_t s, const char* what, const char* file, int line)
{
    const char* text = "unknown status";
    try {
        text = cublasApi().statusString(s);
    } catch (...) {
    }
    throw Error(std::string("cuBLAS error: ") + text + " (" + what + " at " + file + ":" + std::to_string(line) + ")");
}

} // namespace logitscope::gpu
