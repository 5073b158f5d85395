// cuBLAS, loaded at run time with dlopen so that binaries built with the CUDA backend still start on
// a machine without the CUDA toolkit's libraries (the backend then reports why and the CPU is used).
// Only the handful of entry points the backend calls; not a general wrapper.
#pragma once

#include <cublas_v2.h>

namespace logitscope::gpu {

struct CublasApi {
    decltype(&cublasCreate_v2) create = nullptr;
    decltype(&cublasDestroy_v2) destroy = nullptr;
    decltype(&cublasSetStream_v2) setStream = nullptr;
    decltype(&cublasSetWorkspace_v2) setWorkspace = nullptr;
    decltype(&cublasSetMathMode) setMathMode = nullptr;
    // The 32-bit-index overloads (C++ also declares 64-bit ones under the same names).
    cublasStatus_t (*gemmEx)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                             const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                             cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
    cublasStatus_t (*gemmStridedBatchedEx)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                           const void*, const void*, cudaDataType, int, long long int, const void*,
                                           cudaDataType, int, long long int, const void*, void*, cudaDataType, int,
                                           long long int, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
    decltype(&cublasGetStatusString) statusString = nullptr;
    const char* library = "";
};

// Loads libcublas.so.13 (or $LOGITSCOPE_CUBLAS) once; throws Error naming the library when it is missing.
const CublasApi& cublasApi();

[[noreturn]] void throwCublasError(cublasStatus_t s, const char* what, const char* file, int line);

} // namespace logitscope::gpu

#define CUBLAS_CHECK(call)                                                                    \
    do {                                                                                      \
        const cublasStatus_t cublasCheckResult = (call);                                      \
        if (cublasCheckResult != CUBLAS_STATUS_SUCCESS)                                       \
            ::logitscope::gpu::throwCublasError(cublasCheckResult, #call, __FILE__, __LINE__); \
    } while (0)
