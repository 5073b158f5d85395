// ThreadPool: workers spin briefly on a generation counter (decode issues ~150 short loops per token),
// then sleep on a condition variable so an idle engine costs no CPU. Completion is counted in tasks,
// not in workers, so a descheduled worker never holds up a loop the others have finished.
#include "model/thread_pool.h"

#include "common/error.h"

#include <chrono>
#include <cerrno>
#include <cstdlib>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define LOGITSCOPE_PAUSE() _mm_pause()
#else
#define LOGITSCOPE_PAUSE() ((void)0)
#endif

namespace logitscope {

namespace {

int hardwareCores()
{
    const int n = int(std::thread::hardware_concurrency());
    return n > 0 ? n : 1;
}

} // namespace

int ThreadPool::maxThreadCount()
{
    return 4 * hardwareCores();
}

int ThreadPool::checkThreadCount(long long threads, const std::string& option)
{
    if (threads < 0)
        throw Error(option + ": expected 0 (all cores) or a positive count, got " + std::to_string(threads));
    if (threads > maxThreadCount())
        throw Error(option + ": at most " + std::to_string(maxThreadCount()) + " (4 × this machine's "
                    + std::to_string(hardwareCores()) + " cores), got " + std::to_string(threads));
    return int(threads);
}

int ThreadPool::defaultThreadCount()
{
    const char* env = std::getenv("LOGITSCOPE_THREADS");
    if (!env || !*env)
        return hardwareCores();
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(env, &end, 10);
    if (errno || end == env || *end)
        throw Error(std::string("LOGITSCOPE_THREADS: expected a thread count, got '") + env + "'");
    const int n = checkThreadCount(v, "LOGITSCOPE_THREADS");
    return n > 0 ? n : hardwareCores();
}

ThreadPool::ThreadPool(int threads)
{
    if (threads <= 0)
        threads = defaultThreadCount();
    else
        threads = checkThreadCount(threads, "threads");
    m_size = threads > 0 ? threads : 1;
    for (int i = 1; i < m_size; ++i)
        m_workers.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
        m_generation.fetch_add(1);
    }
    m_wake.notify_all();
    for (auto& t : m_workers)
        t.join();
}

int ThreadPool::drain(uint32_t gen, int thread)
{
    const TaskFn fn = m_fn.load(std::memory_order_acquire);
    void* ctx = m_ctx.load(std::memory_order_acquire);
    const int tasks = m_tasks.load(std::memory_order_acquire);
    int ran = 0;
    uint64_t cur = m_claim.load(std::memory_order_acquire);
    for (;;) {
        if (uint32_t(cur >> 32) != gen || int(uint32_t(cur)) >= tasks)
            break;
        if (!m_claim.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel))
            continue;
        fn(ctx, int(uint32_t(cur)), thread);
        ++ran;
        cur = m_claim.load(std::memory_order_acquire);
    }
    return ran;
}

void ThreadPool::run(int tasks, TaskFn fn, void* ctx)
{
    if (tasks <= 0)
        return;
    if (m_workers.empty() || tasks == 1) {
        for (int t = 0; t < tasks; ++t)
            fn(ctx, t, 0);
        return;
    }
    uint32_t gen;
    {
        std::lock_guard lock(m_mutex);
        gen = m_generation.load(std::memory_order_relaxed) + 1;
        // The claim word moves to the new generation before fn/ctx/tasks change: a worker still in
        // drain() of the previous loop that reads any new field (release/acquire) then sees this
        // generation in m_claim and claims nothing, instead of running a new task with an old fn/ctx.
        m_claim.store(uint64_t(gen) << 32, std::memory_order_release);
        m_tasks.store(tasks, std::memory_order_release);
        m_fn.store(fn, std::memory_order_release);
        m_ctx.store(ctx, std::memory_order_release);
        m_done.store(0, std::memory_order_relaxed);
        m_generation.store(gen, std::memory_order_release);
    }
    m_wake.notify_all();
    const int mine = drain(gen, 0);
    // Wait for the tasks other threads claimed.
    int spins = 0;
    while (m_done.load(std::memory_order_acquire) + mine < tasks) {
        LOGITSCOPE_PAUSE();
        if (++spins > 4096)
            std::this_thread::yield();
    }
}

void ThreadPool::workerLoop(int thread)
{
    uint32_t seen = 0;
    for (;;) {
        // Spin for a while (the next loop usually follows within microseconds), yield, then sleep.
        const auto start = std::chrono::steady_clock::now();
        int spins = 0;
        uint32_t gen;
        while ((gen = m_generation.load(std::memory_order_acquire)) == seen) {
            LOGITSCOPE_PAUSE();
            if (++spins % 128 != 0)
                continue;
            const auto waited = std::chrono::steady_clock::now() - start;
            if (waited > std::chrono::milliseconds(1)) {
                std::unique_lock lock(m_mutex);
                m_wake.wait(lock, [&] { return m_generation.load(std::memory_order_acquire) != seen; });
            } else if (waited > std::chrono::microseconds(100)) {
                std::this_thread::yield();
            }
        }
        seen = gen;
        if (m_stop.load())
            return;
        const int ran = drain(gen, thread);
        if (ran)
            m_done.fetch_add(ran, std::memory_order_acq_rel);
    }
}

} // namespace logitscope
