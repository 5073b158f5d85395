// Lesson files: parsing and validation.
#include "models/lesson.h"

#include "common/error.h"
#include "common/quantize.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace logitscope::gui {

using nlohmann::json;

LessonError::LessonError(const std::string& source, const std::string& field, const std::string& problem)
    : std::runtime_error(std::filesystem::path(source).filename().string() + ": " + field + ": " + problem), m_field(field)
{
}

namespace {

struct ActionName {
    LessonAction action;
    const char* name;
    bool takesCount;  // "steps N", "rewind N"
};
constexpr ActionName kActions[] = {
    {LessonAction::Prefill, "prefill", false},         {LessonAction::Step, "step", false},
    {LessonAction::Steps, "steps", true},              {LessonAction::Rewind, "rewind", true},
    {LessonAction::Set, "set", false},                 {LessonAction::Fork, "fork", false},
    {LessonAction::Beam, "beam", false},               {LessonAction::Tokenize, "tokenize", false},
    {LessonAction::Recompute, "recompute", false},     {LessonAction::SweepContext, "sweep-context", false},
    {LessonAction::SweepThroughput, "sweep-throughput", false}, {LessonAction::ShowPanel, "show-panel", false},
    {LessonAction::KvPrecision, "kv-precision", false}, {LessonAction::WeightPrecision, "weight-precision", false},
};

// Which keys each check needs (beyond "kind"); the evaluator (lesson_checks.cpp) reads them.
const std::map<std::string, std::vector<std::string>>& checkRequirements()
{
    static const std::map<std::string, std::vector<std::string>> table = {
        {"tokens_compare", {"text", "a", "op", "b"}},
        {"prompt_tokens", {"op", "value"}},
        {"prompt_fits_context", {}},
        {"prompt_scored", {}},
        {"tpot_less_than_ttft", {}},
        {"prefill_faster_per_token", {}},
        {"attention_heads_differ", {}},
        {"attention_rows_normalised", {}},
        {"gqa_group_size", {"value"}},
        {"entropy_order", {"lanes", "direction"}},
        {"entropy", {"op", "value"}},
        {"survivors", {"stage", "op", "value"}},
        {"survivors_less", {"stage", "than_stage"}},
        {"lanes_differ", {"lanes"}},
        {"penalised_at_least", {"stage", "value"}},
        {"repeats_compare", {"a", "op", "b"}},
        {"finish_reason", {"value"}},
        {"token_count_at_least", {"value"}},
        {"generated_tokens", {"op", "value"}},
        {"stop_spans_tokens", {}},
        {"beam_hypotheses", {"op", "value"}},
        {"beam_length_order", {"runs", "direction"}},
        {"beam_more_likely_than_sampling", {}},
        {"kv_bytes_per_token_formula", {}},
        {"kv_shared_blocks_at_least", {"value"}},
        {"kv_sharing_saves", {}},
        {"kv_tokens", {"op", "value"}},
        {"recompute_slower", {}},
        {"kv_fp16_halves", {}},
        {"kv_fp16_close", {"value"}},
        {"weights_shrink", {}},
        {"weights_kl_below", {"type", "value"}},
        {"weights_kl_grows", {}},
        {"weights_agree_at_least", {"type", "value"}},
        {"sweep_compare", {"sweep", "series", "op"}},
        {"sweep_monotonic", {"sweep", "series", "direction"}},
        {"grammar_removed_mass", {"op", "value"}},
        {"grammar_accepts_output", {}},
        {"output_is_json", {}},
    };
    return table;
}

std::string joined(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& s : items)
        out += (out.empty() ? "" : ", ") + s;
    return out;
}

std::string typeName(const json& v)
{
    return v.type_name();
}

// Small helpers that throw LessonError naming the field.
struct Reader {
    std::string source;

    [[noreturn]] void fail(const std::string& field, const std::string& problem) const
    {
        throw LessonError(source, field, problem);
    }
    std::string string(const json& obj, const std::string& key, const std::string& field, bool required) const
    {
        auto it = obj.find(key);
        if (it == obj.end()) {
            if (required)
                fail(field, "missing (a string is required)");
            return {};
        }
        if (!it->is_string())
            fail(field, "must be a string, not " + typeName(*it));
        return it->get<std::string>();
    }
    const json& object(const json& obj, const std::string& key, const std::string& field) const
    {
        static const json empty = json::object();
        auto it = obj.find(key);
        if (it == obj.end())
            return empty;
        if (!it->is_object())
            fail(field, "must be an object, not " + typeName(*it));
        return *it;
    }
    logitscope::SamplingParams params(const json& settings, const std::string& field) const
    {
        try {
            auto p = logitscope::samplingParamsFromJson(settings);
            logitscope::validate(p, -1);
            return p;
        } catch (const logitscope::Error& e) {
            fail(field, e.what());
        } catch (const json::exception& e) {
            fail(field, e.what());
        }
    }
};

void checkOp(const Reader& r, const json& check, const std::string& field)
{
    if (!check.contains("op"))
        return;
    static const std::vector<std::string> ops = {"<", "<=", ">", ">=", "==", "!="};
    const auto& op = check["op"];
    if (!op.is_string() || std::find(ops.begin(), ops.end(), op.get<std::string>()) == ops.end())
        r.fail(field + ".op", "must be one of " + joined(ops));
}

LessonCheck parseCheck(const Reader& r, const json& obj, const std::string& field)
{
    if (!obj.is_object())
        r.fail(field, "must be an object with a \"kind\", not " + typeName(obj));
    LessonCheck c;
    c.kind = r.string(obj, "kind", field + ".kind", true);
    const auto& table = checkRequirements();
    auto it = table.find(c.kind);
    if (it == table.end())
        r.fail(field + ".kind", "unknown check \"" + c.kind + "\" (known: " + joined(lessonCheckKinds()) + ")");
    for (const auto& key : it->second)
        if (!obj.contains(key))
            r.fail(field + "." + key, "missing (check \"" + c.kind + "\" needs: " + joined(it->second) + ")");
    checkOp(r, obj, field);
    if (obj.contains("direction")) {
        const auto& d = obj["direction"];
        if (!d.is_string() || (d != "increasing" && d != "decreasing"))
            r.fail(field + ".direction", "must be \"increasing\" or \"decreasing\"");
    }
    if (obj.contains("lanes")) {
        const auto& lanes = obj["lanes"];
        if (!lanes.is_array() || lanes.size() < 2
            || !std::all_of(lanes.begin(), lanes.end(), [](const json& v) { return v.is_number_integer(); }))
            r.fail(field + ".lanes", "must be a list of at least two lane numbers");
    }
    if (obj.contains("value") && !obj["value"].is_number() && !obj["value"].is_string())
        r.fail(field + ".value", "must be a number or a string, not " + typeName(obj["value"]));
    c.claim = r.string(obj, "claim", field + ".claim", false);
    c.args = obj;
    return c;
}

// "steps 5" -> (Steps, 5); "show-panel kv" -> (ShowPanel, "kv").
void parseAction(const Reader& r, const std::string& text, const std::string& field, LessonStep& step)
{
    std::istringstream in(text);
    std::string verb, rest;
    in >> verb;
    std::getline(in, rest);
    rest.erase(0, rest.find_first_not_of(' '));
    for (const auto& a : kActions) {
        if (verb != a.name)
            continue;
        step.action = a.action;
        if (a.takesCount) {
            if (rest.empty() && step.args.contains("count") && step.args["count"].is_number_integer())
                rest = std::to_string(step.args["count"].get<int>());
            if (rest.empty() && a.action == LessonAction::Rewind)
                rest = "1";
            char* end = nullptr;
            const long n = rest.empty() ? -1 : std::strtol(rest.c_str(), &end, 10);
            if (rest.empty() || *end != '\0' || n < 1 || n > 4096)
                r.fail(field, "\"" + verb + "\" needs a count from 1 to 4096, e.g. \"" + verb + " 5\" (got \"" + text + "\")");
            step.count = int(n);
        } else if (a.action == LessonAction::ShowPanel) {
            const auto& panels = lessonPanels();
            if (std::find(panels.begin(), panels.end(), rest) == panels.end())
                r.fail(field, "\"show-panel\" needs a panel name: one of " + joined(panels) + " (got \"" + rest + "\")");
            step.panelName = rest;
        } else if (!rest.empty()) {
            r.fail(field, "\"" + verb + "\" takes no argument here (put them in \"args\"); got \"" + text + "\"");
        }
        return;
    }
    std::vector<std::string> names;
    for (const auto& a : kActions)
        names.push_back(std::string(a.name) + (a.takesCount ? " N" : a.action == LessonAction::ShowPanel ? " NAME" : ""));
    r.fail(field, "unknown action \"" + verb + "\" (known: " + joined(names) + ")");
}

void requireNumbers(const Reader& r, const json& args, const char* key, const std::string& field, int min, int max)
{
    if (!args.contains(key))
        return;
    const auto& v = args[key];
    if (!v.is_array() || v.empty())
        r.fail(field + "." + key, "must be a non-empty list of whole numbers");
    for (const auto& x : v)
        if (!x.is_number_integer() || x.get<int>() < min || x.get<int>() > max)
            r.fail(field + "." + key, "every entry must be a whole number from " + std::to_string(min) + " to "
                                          + std::to_string(max));
}

} // namespace

const char* lessonActionName(LessonAction action)
{
    for (const auto& a : kActions)
        if (a.action == action)
            return a.name;
    return "?";
}

const std::vector<std::string>& lessonCheckKinds()
{
    static const std::vector<std::string> kinds = [] {
        std::vector<std::string> k;
        for (const auto& [name, keys] : checkRequirements())
            k.push_back(name);
        return k;
    }();
    return kinds;
}

const std::vector<std::string>& lessonPanels()
{
    static const std::vector<std::string> panels = {"probabilities", "attention", "kv", "metrics", "beam",
                                                    "tokens", "token-probabilities", "lanes", "generated",
                                                    "sampling", "sweeps", "lesson"};
    return panels;
}

json mergeSettings(const json& base, const json& overrides)
{
    json out = base.is_object() ? base : json::object();
    if (overrides.is_object())
        for (auto it = overrides.begin(); it != overrides.end(); ++it)
            out[it.key()] = it.value();
    return out;
}

Lesson parseLesson(const std::string& text, const std::string& source)
{
    const Reader r{source};
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::parse_error& e) {
        r.fail("(file)", std::string("not valid JSON: ") + e.what());
    }
    if (!doc.is_object())
        r.fail("(file)", "a lesson is a JSON object, not " + typeName(doc));
    static const std::vector<std::string> known = {"id", "title", "summary", "model", "prompt", "chat", "settings",
                                                   "lanes", "steps", "tokenizer_b", "$comment"};
    for (auto it = doc.begin(); it != doc.end(); ++it)
        if (std::find(known.begin(), known.end(), it.key()) == known.end())
            r.fail(it.key(), "unknown field (known: " + joined(known) + ")");

    Lesson l;
    l.source = source;
    l.id = r.string(doc, "id", "id", true);
    if (l.id.empty() || l.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
        r.fail("id", "must be lower-case letters, digits, '-' or '_' (used in file and screenshot names)");
    l.title = r.string(doc, "title", "title", true);
    l.summary = r.string(doc, "summary", "summary", false);
    l.model = r.string(doc, "model", "model", false);
    l.prompt = r.string(doc, "prompt", "prompt", true);
    if (doc.contains("chat")) {
        if (!doc["chat"].is_boolean())
            r.fail("chat", "must be true or false");
        l.chat = doc["chat"].get<bool>();
    }
    l.settings = r.object(doc, "settings", "settings");
    l.params = r.params(l.settings, "settings");

    if (doc.contains("tokenizer_b")) {
        const auto& t = doc["tokenizer_b"];
        if (!t.is_object())
            r.fail("tokenizer_b", "must be an object {\"label\", \"paths\": [...]}");
        l.hasTokenizerB = true;
        l.tokenizerB.label = r.string(t, "label", "tokenizer_b.label", true);
        if (!t.contains("paths") || !t["paths"].is_array() || t["paths"].empty())
            r.fail("tokenizer_b.paths", "must be a non-empty list of file paths");
        for (const auto& p : t["paths"]) {
            if (!p.is_string())
                r.fail("tokenizer_b.paths", "every entry must be a string");
            l.tokenizerB.paths.push_back(p.get<std::string>());
        }
    }

    if (doc.contains("lanes")) {
        const auto& lanes = doc["lanes"];
        if (!lanes.is_array())
            r.fail("lanes", "must be a list of {\"label\", \"settings\"}");
        if (lanes.size() > 16)
            r.fail("lanes", "at most 16 lanes");
        for (size_t i = 0; i < lanes.size(); ++i) {
            const std::string field = "lanes[" + std::to_string(i) + "]";
            if (!lanes[i].is_object())
                r.fail(field, "must be an object {\"label\", \"settings\"}");
            LessonLane lane;
            lane.label = r.string(lanes[i], "label", field + ".label", true);
            lane.settings = r.object(lanes[i], "settings", field + ".settings");
            lane.params = r.params(mergeSettings(l.settings, lane.settings), field + ".settings");
            l.lanes.push_back(std::move(lane));
        }
    }
    if (l.lanes.empty()) {
        LessonLane lane;
        lane.label = "lane 0";
        lane.params = l.params;
        l.lanes.push_back(std::move(lane));
    }

    if (!doc.contains("steps") || !doc["steps"].is_array() || doc["steps"].empty())
        r.fail("steps", "missing or empty (a lesson needs at least one step)");
    const auto& steps = doc["steps"];
    static const std::vector<std::string> stepKeys = {"action", "args", "text", "panel", "check", "$comment"};
    for (size_t i = 0; i < steps.size(); ++i) {
        const std::string field = "steps[" + std::to_string(i) + "]";
        const auto& s = steps[i];
        if (!s.is_object())
            r.fail(field, "must be an object {\"action\", \"text\", ...}");
        for (auto it = s.begin(); it != s.end(); ++it)
            if (std::find(stepKeys.begin(), stepKeys.end(), it.key()) == stepKeys.end())
                r.fail(field + "." + it.key(), "unknown field (known: " + joined(stepKeys) + ")");
        LessonStep step;
        step.args = r.object(s, "args", field + ".args");
        parseAction(r, r.string(s, "action", field + ".action", true), field + ".action", step);
        step.text = r.string(s, "text", field + ".text", true);
        step.panel = r.string(s, "panel", field + ".panel", false);
        if (!step.panel.empty()) {
            const auto& panels = lessonPanels();
            if (std::find(panels.begin(), panels.end(), step.panel) == panels.end())
                r.fail(field + ".panel", "unknown panel \"" + step.panel + "\" (known: " + joined(panels) + ")");
        }
        const std::string args = field + ".args";
        if (step.args.contains("settings")) {
            if (!step.args["settings"].is_object())
                r.fail(args + ".settings", "must be an object of sampling settings");
            r.params(mergeSettings(l.settings, step.args["settings"]), args + ".settings");
        }
        if (step.args.contains("lane")) {
            const auto& v = step.args["lane"];
            if (!v.is_number_integer() || v.get<int>() < 0)
                r.fail(args + ".lane", "must be a lane number (0 = the first lane)");
        }
        if (step.action == LessonAction::Tokenize && r.string(step.args, "text", args + ".text", true).empty())
            r.fail(args + ".text", "must not be empty");
        if (step.action == LessonAction::SweepContext) {
            if (!step.args.contains("lengths"))
                r.fail(args + ".lengths", "missing (the context lengths to measure, e.g. [32, 128, 480])");
            requireNumbers(r, step.args, "lengths", args, 2, 1 << 20);
        }
        if (step.action == LessonAction::SweepThroughput) {
            if (!step.args.contains("batches"))
                r.fail(args + ".batches", "missing (how many sequences at once, e.g. [1, 2, 4, 8])");
            requireNumbers(r, step.args, "batches", args, 1, 256);
        }
        if (step.action == LessonAction::WeightPrecision) {
            const auto types = step.args.find("types");
            if (types == step.args.end() || !types->is_array() || types->empty())
                r.fail(args + ".types", "missing (the weight types to try, e.g. [\"q8_0\", \"q4_0\"])");
            for (size_t i = 0; i < types->size(); ++i) {
                const std::string field = args + ".types[" + std::to_string(i) + "]";
                if (!(*types)[i].is_string())
                    r.fail(field, "must be a string, not " + typeName((*types)[i]));
                try {
                    logitscope::weightTypesNamed((*types)[i].get<std::string>());
                } catch (const logitscope::Error& e) {
                    r.fail(field, e.what());
                }
            }
        }
        if (step.action == LessonAction::Set && !step.args.contains("settings") && !step.args.contains("prompt"))
            r.fail(args, "\"set\" needs \"settings\" (and optionally \"lane\") or \"prompt\"");
        if (s.contains("check")) {
            step.hasCheck = true;
            step.check = parseCheck(r, s["check"], field + ".check");
        }
        l.steps.push_back(std::move(step));
    }
    return l;
}

Lesson loadLessonFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw LessonError(path, "(file)", "cannot be opened");
    std::stringstream ss;
    ss << in.rdbuf();
    return parseLesson(ss.str(), path);
}

std::vector<std::string> lessonFiles(const std::string& directory)
{
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(directory, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".json")
            files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    return files;
}

} // namespace logitscope::gui
