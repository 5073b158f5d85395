// WorkerMailbox: how a task running on the worker thread answers a UI-thread object that may be
// destroyed meanwhile. The object owns a shared mailbox and closes it in its destructor; a task posts
// through the mailbox while holding its lock, so it either posts before the object's ~QObject (which
// discards pending events) or sees it closed. Also carries the object's own cancel flag.
#pragma once

#include <QMetaObject>
#include <QObject>

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>

namespace logitscope::gui {

class WorkerMailbox {
public:
    explicit WorkerMailbox(QObject* target) : m_target(target) {}

    template <class F>
    void post(F&& f)
    {
        std::lock_guard lock(m_mutex);
        if (m_target)
            QMetaObject::invokeMethod(m_target, [this, f = std::forward<F>(f)]() mutable {
                // Runs in the target's thread (the target owns this mailbox, so it is alive). Taking
                // the lock the poster held orders everything the task wrote before post() ahead of f()
                // where ThreadSanitizer sees it; Qt's own event-queue locking is invisible to it
                // (docs/reliability.md). Released before f() runs, so f may post or close.
                { std::lock_guard sync(m_mutex); }
                f();
            }, Qt::QueuedConnection);
    }
    void close()
    {
        cancel = true;
        std::lock_guard lock(m_mutex);
        m_target = nullptr;
    }
    bool open()
    {
        std::lock_guard lock(m_mutex);
        return m_target != nullptr;
    }

    std::atomic<bool> cancel{false};

private:
    std::mutex m_mutex;
    QObject* m_target;
};

using MailboxPtr = std::shared_ptr<WorkerMailbox>;

} // namespace logitscope::gui
