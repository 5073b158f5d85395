// Owning handles for device and pinned host allocations. An allocation that does not fit throws
// Error saying what it was for, how much it needed and how much the device had free, so the caller
// (and the user) can tell which setting to lower; nothing is left half-allocated.
#pragma once

#include "cuda_common.cuh"

#include <cstdio>
#include <string>
#include <utility>

namespace logitscope::gpu {

inline std::string mebibytes(size_t bytes)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
    return buf;
}

class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(size_t bytes, const std::string& what) { allocate(bytes, what); }
    ~DeviceBuffer() { release(); }
    DeviceBuffer(DeviceBuffer&& o) noexcept : m_ptr(std::exchange(o.m_ptr, nullptr)), m_bytes(std::exchange(o.m_bytes, 0)) {}
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept
    {
        if (this != &o) {
            release();
            m_ptr = std::exchange(o.m_ptr, nullptr);
            m_bytes = std::exchange(o.m_bytes, 0);
        }
        return *this;
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    // Replaces the allocation (contents are not kept). Throws Error when the device lacks the memory.
    void allocate(size_t bytes, const std::string& what)
    {
        release();
        if (bytes == 0)
            return;
        void* p = nullptr;
        const cudaError_t e = cudaMalloc(&p, bytes);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            size_t freeBytes = 0, total = 0;
            (void)cudaMemGetInfo(&freeBytes, &total);
            throw Error("not enough GPU memory for " + what + ": needs " + mebibytes(bytes) + ", " +
                        mebibytes(freeBytes) + " free of " + mebibytes(total) + " (" + cudaGetErrorString(e) + ")");
        }
        m_ptr = p;
        m_bytes = bytes;
    }
    // Grows to at least `bytes` (contents are not kept); returns true when it reallocated.
    bool ensure(size_t bytes, const std::string& what)
    {
        if (bytes <= m_bytes)
            return false;
        allocate(bytes, what);
        return true;
    }
    void release()
    {
        if (m_ptr)
            cudaFree(m_ptr);
        m_ptr = nullptr;
        m_bytes = 0;
    }

    template <class T = void>
    T* as() const
    {
        return static_cast<T*>(m_ptr);
    }
    size_t bytes() const { return m_bytes; }

private:
    void* m_ptr = nullptr;
    size_t m_bytes = 0;
};

class PinnedBuffer {
public:
    PinnedBuffer() = default;
    ~PinnedBuffer() { release(); }
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;

    bool ensure(size_t bytes, const std::string& what)
    {
        if (bytes <= m_bytes)
            return false;
        release();
        void* p = nullptr;
        const cudaError_t e = cudaMallocHost(&p, bytes);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            throw Error("not enough pinned host memory for " + what + ": needs " + mebibytes(bytes) + " (" +
                        cudaGetErrorString(e) + ")");
        }
        m_ptr = p;
        m_bytes = bytes;
        return true;
    }
    void release()
    {
        if (m_ptr)
            cudaFreeHost(m_ptr);
        m_ptr = nullptr;
        m_bytes = 0;
    }
    template <class T = void>
    T* as() const
    {
        return static_cast<T*>(m_ptr);
    }
    size_t bytes() const { return m_bytes; }

private:
    void* m_ptr = nullptr;
    size_t m_bytes = 0;
};

} // namespace logitscope::gpu
