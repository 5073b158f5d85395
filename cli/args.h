// Args: the command line of one logitscope-cli subcommand — `--name value` options, `--flag`s and
// positionals, with typed getters whose errors name the option. Not a general-purpose parser.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace logitscope::cli {

class Args {
public:
    // `flags` are the options that take no value; every other --option takes the next word.
    Args(int argc, char** argv, int first, const std::set<std::string>& flags);

    bool flag(const std::string& name) const { return m_flags.count(name) != 0; }
    bool has(const std::string& name) const { return m_values.count(name) != 0; }
    std::string str(const std::string& name) const;                       // required
    std::string str(const std::string& name, const std::string& fallback) const;
    std::vector<std::string> all(const std::string& name) const;           // repeatable option
    int integer(const std::string& name, int fallback) const;
    double number(const std::string& name, double fallback) const;
    uint64_t u64(const std::string& name, uint64_t fallback) const;
    const std::vector<std::string>& positionals() const { return m_positionals; }
    // Throws Error naming the first option that no getter asked for (a typo must not pass silently).
    void rejectUnknown() const;

private:
    std::multimap<std::string, std::string> m_values;
    std::set<std::string> m_flags;
    std::vector<std::string> m_positionals;
    mutable std::set<std::string> m_asked;
};

} // namespace logitscope::cli
