// For tests of logitscope-cli: run it (the LOGITSCOPE_CLI path the test's CMakeLists defines) with
// arguments and collect its exit code and both output streams. Qt (QProcess).
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>

namespace logitscope::test {

struct CliResult {
    int code = -1; // -1: it crashed or ran past two minutes
    QString out, err;
};

inline CliResult runCli(const QStringList& args)
{
    QProcess p;
    p.start(QStringLiteral(LOGITSCOPE_CLI), args);
    if (!p.waitForFinished(120000)) {
        p.kill();
        return {};
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

} // namespace logitscope::test
