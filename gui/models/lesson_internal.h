// Helpers shared by the three files of the lesson player (lesson_player.cpp: actions and measurements,
// lesson_checks.cpp: the checks, lesson_report.cpp: the HTML of the Lessons panel): number formatting,
// readers for check / action arguments, the sampler-stage lookup. Internal to gui/models; not an API.
#pragma once

#include "models/lesson_player.h"

#include <nlohmann/json.hpp>

#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace logitscope::gui::lesson_detail {

inline std::string fmt(double v, int decimals = 2)
{
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(decimals);
    s << v;
    return s.str();
}

inline std::string bytesText(double bytes)
{
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (bytes >= 1024 && u < 3) {
        bytes /= 1024;
        ++u;
    }
    return fmt(bytes, u == 0 ? 0 : 1) + " " + units[u];
}

inline int intArg(const nlohmann::json& j, const char* key, int fallback)
{
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<int>() : fallback;
}
inline double numArg(const nlohmann::json& j, const char* key, double fallback)
{
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}
inline std::string strArg(const nlohmann::json& j, const char* key, const std::string& fallback)
{
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

inline CheckResult pass(std::string detail) { return {CheckResult::Status::Pass, std::move(detail)}; }
inline CheckResult fail(std::string detail) { return {CheckResult::Status::Fail, std::move(detail)}; }
inline CheckResult verdict(bool ok, std::string detail) { return ok ? pass(std::move(detail)) : fail(std::move(detail)); }
inline CheckResult skipped(std::string detail) { return {CheckResult::Status::Skipped, std::move(detail)}; }

// The snapshot after a named stage: "raw", "final" (after every stage) or a stage name ("top_p").
inline const logitscope::StageSnapshot* stageOf(const logitscope::SampleResult& r, const std::string& name)
{
    if (r.stages.empty())
        return nullptr;
    if (name == "raw")
        return &r.stages.front();
    if (name == "final" || name.empty())
        return &r.stages.back();
    for (const auto& s : r.stages)
        if (s.name == name)
            return &s;
    return nullptr;
}

// Generated tokens that already appeared earlier in the same output.
inline int repeats(const std::vector<int32_t>& ids)
{
    return int(ids.size()) - int(std::set<int32_t>(ids.begin(), ids.end()).size());
}

} // namespace logitscope::gui::lesson_detail
