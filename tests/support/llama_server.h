// For Qt tests that talk to the real llama.cpp: starts ../shared/peers/llama-server on a free loopback
// port (one thread, small context), waits for /health, POSTs JSON through curl, and stops the server it
// started (by its own handle) when it goes out of scope. Not a client library: one request at a time.
#pragma once

#include "shared_data.h"

#include <nlohmann/json.hpp>

#include <QProcess>
#include <QTcpServer>
#include <QtTest>

namespace logitscope::test {

class LlamaServer {
public:
    LlamaServer() = default;
    LlamaServer(const LlamaServer&) = delete;
    LlamaServer& operator=(const LlamaServer&) = delete;
    ~LlamaServer() { stop(); }

    // Starts the server on ../shared/<model>. Returns "" once it answers /health; otherwise why not, with
    // `skip` true when the reason is something missing here (../shared, curl) rather than a failure.
    QString start(const std::string& model, bool& skip)
    {
        skip = true;
        if (!haveShared(model))
            return QString("reference data missing: %1 (set LOGITSCOPE_SHARED_DIR)").arg(QString::fromStdString(sharedPath(model)));
        if (!haveShared("peers/llama-server"))
            return QString("reference data missing: %1").arg(QString::fromStdString(sharedPath("peers/llama-server")));
        {
            QProcess probe;
            probe.setStandardOutputFile(QProcess::nullDevice());
            probe.start("curl", {"--version"});
            if (!probe.waitForFinished(10000) || probe.exitCode() != 0)
                return "curl is not available to talk to llama-server";
        }
        skip = false;
        quint16 port = 0; // a free loopback port: bind port 0, read it, release it
        {
            QTcpServer probe;
            if (!probe.listen(QHostAddress::LocalHost, 0))
                return "no free loopback port";
            port = probe.serverPort();
        }
        m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.start(QString::fromStdString(sharedPath("peers/llama-server")),
                        {"-m", QString::fromStdString(sharedPath(model)), "--host", "127.0.0.1", "--port",
                         QString::number(port), "-t", "1", "--threads-http", "2", "-np", "1", "-c", "512"});
        if (!m_process.waitForStarted(10000))
            return "llama-server did not start";
        m_base = QString("http://127.0.0.1:%1").arg(port);
        for (int i = 0; i < 120; ++i) {
            if (curl({m_base + "/health"}).contains("ok"))
                return {};
            QTest::qWait(250);
        }
        return "llama-server never reported /health ok";
    }

    // POSTs `body` to `path` ("/completion"); the parsed reply, or null when there was none.
    nlohmann::json post(const QString& path, const nlohmann::json& body) const
    {
        const QByteArray reply = curl({m_base + path, "-d", QByteArray::fromStdString(body.dump())});
        if (reply.isEmpty())
            return nullptr;
        return nlohmann::json::parse(reply.toStdString(), nullptr, /*allow_exceptions=*/false);
    }

    const QString& base() const { return m_base; }

    void stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.kill(); // by its own handle: only the server this object started
        m_process.waitForFinished(5000);
    }

private:
    static QByteArray curl(const QStringList& args)
    {
        QProcess p;
        p.start("curl", QStringList{"-s", "--max-time", "60"} + args);
        if (!p.waitForFinished(70000))
            return {};
        return p.readAllStandardOutput();
    }

    QProcess m_process;
    QString m_base;
};

} // namespace logitscope::test

// Inside a Qt Test slot: start `server` on ../shared/<model>, skipping when something is missing here and
// failing when the server does not come up.
#define START_LLAMA_SERVER(server, model)                  \
    do {                                                   \
        bool skip_ = false;                                \
        const QString why_ = (server).start(model, skip_); \
        if (!why_.isEmpty()) {                             \
            if (skip_)                                     \
                QSKIP(qPrintable(why_));                   \
            QFAIL(qPrintable(why_));                       \
        }                                                  \
    } while (0)
