// Command-line parsing for logitscope-cli.
#include "args.h"

#include "common/error.h"
#include "model/thread_pool.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace logitscope::cli {

Args::Args(int argc, char** argv, int first, const std::set<std::string>& flags)
{
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0 || a.size() == 2) {
            m_positionals.push_back(a);
            continue;
        }
        std::string name = a.substr(2);
        const auto eq = name.find('=');
        if (eq != std::string::npos) {
            m_values.emplace(name.substr(0, eq), name.substr(eq + 1));
        } else if (flags.count(name)) {
            m_flags.insert(name);
        } else {
            if (i + 1 >= argc)
                throw Error("--" + name + ": missing value");
            m_values.emplace(name, argv[++i]);
        }
    }
    m_asked.insert(flags.begin(), flags.end());
    // Every subcommand's thread count is bounded before anything starts (a huge one exhausts the
    // system's thread limit and takes other programs with it).
    if (has("threads")) {
        const int threads = integer("threads", 0);
        m_asked.erase("threads"); // still unknown to a subcommand that takes no --threads
        ThreadPool::checkThreadCount(threads, "--threads");
    }
}

std::string Args::str(const std::string& name) const
{
    m_asked.insert(name);
    auto it = m_values.find(name);
    if (it == m_values.end())
        throw Error("--" + name + ": required");
    return it->second;
}

std::string Args::str(const std::string& name, const std::string& fallback) const
{
    m_asked.insert(name);
    auto it = m_values.find(name);
    return it == m_values.end() ? fallback : it->second;
}

std::vector<std::string> Args::all(const std::string& name) const
{
    m_asked.insert(name);
    std::vector<std::string> out;
    auto [b, e] = m_values.equal_range(name);
    for (auto it = b; it != e; ++it)
        out.push_back(it->second);
    return out;
}

int Args::integer(const std::string& name, int fallback) const
{
    m_asked.insert(name);
    auto it = m_values.find(name);
    if (it == m_values.end())
        return fallback;
    errno = 0;
    char* end = nullptr;
    const long v = std::strtol(it->second.c_str(), &end, 10);
    if (errno || end == it->second.c_str() || *end || v < -2147483647L || v > 2147483647L)
        throw Error("--" + name + ": expected an integer, got '" + it->second + "'");
    return int(v);
}

double Args::number(const std::string& name, double fallback) const
{
    m_asked.insert(name);
    auto it = m_values.find(name);
    if (it == m_values.end())
        return fallback;
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (errno || end == it->second.c_str() || *end || !std::isfinite(v))
        throw Error("--" + name + ": expected a number, got '" + it->second + "'");
    return v;
}

uint64_t Args::u64(const std::string& name, uint64_t fallback) const
{
    m_asked.insert(name);
    auto it = m_values.find(name);
    if (it == m_values.end())
        return fallback;
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(it->second.c_str(), &end, 10);
    if (errno || end == it->second.c_str() || *end || it->second[0] == '-')
        throw Error("--" + name + ": expected a non-negative integer, got '" + it->second + "'");
    return uint64_t(v);
}

void Args::rejectUnknown() const
{
    for (const auto& [name, value] : m_values)
        if (!m_asked.count(name))
            throw Error("--" + name + ": unknown option");
}

} // namespace logitscope::cli
