// ThreadPool: a small persistent pool of std::threads for the CPU backend's parallel loops.
// The calling thread takes part, so a pool of n threads starts n - 1 workers. Not a task queue:
// one parallelFor runs at a time and returns when every task is done.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace logitscope {

class ThreadPool {
public:
    // 0 = the default (LOGITSCOPE_THREADS when set, else the hardware's cores); more than
    // maxThreadCount() throws (checkThreadCount's message).
    explicit ThreadPool(int threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return m_size; }

    // The most threads a pool may have: 4 × the machine's cores. More only oversubscribes the cores,
    // and a mistyped 100000 would exhaust the system's thread limit.
    static int maxThreadCount();
    // `threads` unless it is outside [0, maxThreadCount()]: then throws Error naming `option` and the
    // bound ("--threads: at most 8 (4 × this machine's 2 cores), got 100000").
    static int checkThreadCount(long long threads, const std::string& option);
    // What 0 means: LOGITSCOPE_THREADS when set (checked like --threads; throws when it is not a
    // count in range), else the hardware's cores.
    static int defaultThreadCount();

    // Calls fn(task, thread) for every task in [0, tasks); thread is in [0, size()).
    template <class F>
    void parallelFor(int tasks, F&& fn)
    {
        using Fn = std::remove_reference_t<F>;
        auto trampoline = [](void* ctx, int task, int thread) { (*static_cast<Fn*>(ctx))(task, thread); };
        run(tasks, trampoline, const_cast<void*>(static_cast<const void*>(&fn)));
    }

private:
    using TaskFn = void (*)(void* ctx, int task, int thread);
    void run(int tasks, TaskFn fn, void* ctx);
    void workerLoop(int thread);
    // Claims and runs tasks of generation gen until none is left; returns how many it ran.
    int drain(uint32_t gen, int thread);

    int m_size = 1;
    std::vector<std::thread> m_workers;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::atomic<uint32_t> m_generation{0};
    // (generation << 32) | next task: a worker that wakes late cannot claim a task of a newer loop.
    std::atomic<uint64_t> m_claim{0};
    std::atomic<int> m_done{0};
    std::atomic<bool> m_stop{false};
    std::atomic<int> m_tasks{0};
    std::atomic<TaskFn> m_fn{nullptr};
    std::atomic<void*> m_ctx{nullptr};
};

} // namespace logitscope
