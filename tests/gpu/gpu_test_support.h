// Helpers shared by the GPU tests: skipping without a device, host<->device copies of test arrays,
// error measures (NMSE, max abs), and a Runner that drives any Backend the way a Session would
// (KvCache bookkeeping around forward()). Plain C++ (no Qt): the GPU host has no Qt.
#pragma once

#include "backend_forward.h"
#include "check.h"

#include "common/dtype.h"
#include "common/error.h"
#include "model/backend.h"
#include "model/kv_cache.h"
#include "model/model.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>
#include <vector>

namespace logitscope::test {

inline void requireDevice()
{
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        (void)cudaGetLastError();
        SKIP_TEST("no CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    }
}

// Σ (a - b)² / Σ b²
inline double nmse(const std::vector<float>& got, const std::vector<float>& want)
{
    double num = 0, den = 0;
    const size_t n = std::min(got.size(), want.size());
    for (size_t i = 0; i < n; ++i) {
        const double d = double(got[i]) - double(want[i]);
        num += d * d;
        den += double(want[i]) * double(want[i]);
    }
    if (got.size() != want.size() || !std::isfinite(num))
        return std::numeric_limits<double>::infinity();
    return num / std::max(den, 1e-30);
}

inline double maxAbs(const std::vector<float>& got, const std::vector<float>& want)
{
    if (got.size() != want.size())
        return std::numeric_limits<double>::infinity();
    double m = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double d = std::fabs(double(got[i]) - double(want[i]));
        if (!std::isfinite(d))
            return std::numeric_limits<double>::infinity();
        m = std::max(m, d);
    }
    return m;
}

inline std::vector<float> randomFloats(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f)
{
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v)
        x = d(rng);
    return v;
}

inline std::vector<int32_t> randomIds(size_t n, int vocab, std::mt19937& rng)
{
    std::uniform_int_distribution<int> d(0, vocab - 1);
    std::vector<int32_t> v(n);
    for (int32_t& x : v)
        x = d(rng);
    return v;
}

inline std::vector<uint16_t> toHalf(const std::vector<float>& v)
{
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i)
        h[i] = fp32ToFp16(v[i]);
    return h;
}

inline std::vector<float> fromHalf(const std::vector<uint16_t>& h)
{
    std::vector<float> v(h.size());
    for (size_t i = 0; i < h.size(); ++i)
        v[i] = fp16ToFp32(h[i]);
    return v;
}

// Rounds through fp16 (what the GPU's fp16 inputs hold).
inline std::vector<float> halfRounded(const std::vector<float>& v) { return fromHalf(toHalf(v)); }

// A device array for one test: upload on construction, download on demand.
template <class T>
class DeviceArray {
public:
    explicit DeviceArray(size_t n) : m_n(n)
    {
        if (cudaMalloc(&m_p, std::max<size_t>(n, 1) * sizeof(T)) != cudaSuccess)
            throw Error("test: cudaMalloc failed");
        cudaMemset(m_p, 0, std::max<size_t>(n, 1) * sizeof(T));
    }
    explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
    ~DeviceArray() { cudaFree(m_p); }
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;

    void upload(const std::vector<T>& host)
    {
        if (cudaMemcpy(m_p, host.data(), std::min(host.size(), m_n) * sizeof(T), cudaMemcpyHostToDevice) != cudaSuccess)
            throw Error("test: upload failed");
    }
    std::vector<T> download() const
    {
        std::vector<T> host(m_n);
        const cudaError_t e = cudaDeviceSynchronize();
        if (e != cudaSuccess)
            throw Error(std::string("test: kernel failed: ") + cudaGetErrorString(e));
        if (cudaMemcpy(host.data(), m_p, m_n * sizeof(T), cudaMemcpyDeviceToHost) != cudaSuccess)
            throw Error("test: download failed");
        return host;
    }
    T* get() const { return static_cast<T*>(m_p); }
    size_t size() const { return m_n; }

private:
    void* m_p = nullptr;
    size_t m_n = 0;
};

inline std::vector<float> logSoftmax(const float* x, int n)
{
    double m = -1e300;
    for (int i = 0; i < n; ++i)
        m = std::max(m, double(x[i]));
    double s = 0;
    for (int i = 0; i < n; ++i)
        s += std::exp(double(x[i]) - m);
    const double lse = m + std::log(s);
    std::vector<float> r(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
        r[size_t(i)] = float(double(x[i]) - lse);
    return r;
}

inline int argmax(const std::vector<float>& v)
{
    return int(std::max_element(v.begin(), v.end()) - v.begin());
}

// Gap between the best and the second-best value.
inline double topGap(const std::vector<float>& v)
{
    float a = -INFINITY, b = -INFINITY;
    for (float x : v) {
        if (x > a) {
            b = a;
            a = x;
        } else if (x > b) {
            b = x;
        }
    }
    return double(a) - double(b);
}

// A backend and its cache, with the bookkeeping a Session does around forward().
struct Runner {
    std::shared_ptr<const Model> model;
    std::unique_ptr<Backend> backend;
    KvCache cache;

    Runner(std::shared_ptr<const Model> m, std::unique_ptr<Backend> b)
        : model(std::move(m)), backend(std::move(b)), cache(model->config().kvBytesPerToken(backend->kvElementBytes()))
    {
    }

    // Appends `tokens` to seq in the cache (copy-on-write done) and returns the forward input.
    SequenceInput prepare(int seq, const std::vector<int32_t>& tokens)
    {
        return test::appendTokens(cache, *backend, seq, tokens);
    }

    SequenceOutput run(int seq, const std::vector<int32_t>& tokens, bool allLogits = false, bool capture = false,
                       bool residual = false)
    {
        ForwardOptions o;
        o.captureAttention = capture;
        o.captureResidual = residual;
        return test::forwardOnce(*backend, cache, seq, tokens, allLogits, o);
    }

    // One token for each listed sequence, as one batch.
    std::vector<SequenceOutput> step(const std::vector<int>& seqs, const std::vector<std::vector<int32_t>>& tokens,
                                     bool capture = false, bool residual = false)
    {
        std::vector<SequenceInput> ins;
        for (size_t i = 0; i < seqs.size(); ++i)
            ins.push_back(prepare(seqs[i], tokens[i]));
        // block tables may have moved while later sequences were prepared: take them again
        for (size_t i = 0; i < seqs.size(); ++i)
            ins[i].blockTable = cache.blockTable(seqs[i]);
        std::vector<SequenceOutput> outs(seqs.size());
        ForwardOptions o;
        o.captureAttention = capture;
        o.captureResidual = residual;
        backend->forward(ins, outs, o);
        return outs;
    }
};

} // namespace logitscope::test
