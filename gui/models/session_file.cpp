// Session documents to and from JSON.
#include "models/session_file.h"

#include "models/json_fields.h"
#include "models/trace_file.h"

#include "common/error.h"
#include "common/quantize.h"

#include <QFileInfo>

#include <set>

namespace logitscope::gui {

using json::Json;

QByteArray sessionToJson(const SessionDocument& doc)
{
    Json lanes = Json::array();
    for (const SavedLane& l : doc.lanes) {
        Json tokens = Json::array();
        for (const SavedToken& t : l.tokens)
            tokens.push_back(t.forced ? Json{{"id", t.id}, {"forced", true}} : Json{{"id", t.id}});
        lanes.push_back({{"id", l.id}, {"kind", l.kind.toStdString()}, {"parent", l.parent}, {"fork_step", l.forkStep},
                         {"settings", nlohmann::json(l.settings)}, {"tokens", tokens}});
    }
    Json comparison = Json::array();
    for (const SavedComparisonLane& c : doc.comparison)
        comparison.push_back({{"lane", c.lane}, {"steps", c.steps}});
    Json j = {{"logitscope_session", SessionDocument::kVersion},
              {"model", doc.modelPath.toStdString()},
              {"device", doc.device.toStdString()},
              {"kv_type", doc.kvType.toStdString()},
              {"weights", doc.weights.toStdString()},
              {"prompt", doc.prompt.toStdString()},
              {"chat", doc.chat},
              {"system", doc.system.toStdString()},
              {"settings", nlohmann::json(doc.settings)},
              {"current_lane", doc.currentLane},
              {"lanes", lanes},
              {"comparison", comparison}};
    return QByteArray::fromStdString(j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
}

namespace {

logitscope::SamplingParams settingsAt(const Json& j, const std::string& field)
{
    if (!j.is_object())
        json::fail(field, "expected an object of sampling settings");
    try {
        auto p = logitscope::samplingParamsFromJson(j);
        logitscope::validate(p, -1);
        return p;
    } catch (const std::exception& e) {
        json::fail(field, e.what());
    }
}

} // namespace

SessionDocument sessionFromJson(const QByteArray& text)
{
    using namespace json;
    if (text.trimmed().isEmpty())
        fail("(file)", "empty");
    Json j;
    try {
        j = Json::parse(text.constData(), text.constData() + text.size());
    } catch (const std::exception& e) {
        throw logitscope::Error(std::string("not valid JSON — truncated or damaged? (") + e.what() + ")");
    }
    if (!j.is_object())
        fail("(top level)", "expected an object");
    const int64_t version = integer(member(j, "logitscope_session", ""), "logitscope_session", 1, 1000);
    if (version > SessionDocument::kVersion)
        fail("logitscope_session", "version " + std::to_string(version) + " is newer than this Logitscope reads ("
                                       + std::to_string(SessionDocument::kVersion) + ")");
    SessionDocument doc;
    doc.modelPath = QString::fromStdString(string(member(j, "model", ""), "model"));
    if (doc.modelPath.isEmpty())
        fail("model", "empty path");
    if (has(j, "device"))
        doc.device = QString::fromStdString(string(j.at("device"), "device"));
    if (has(j, "kv_type")) {
        doc.kvType = QString::fromStdString(string(j.at("kv_type"), "kv_type"));
        if (doc.kvType != QLatin1String("f32") && doc.kvType != QLatin1String("f16"))
            fail("kv_type", "expected \"f32\" or \"f16\", got \"" + doc.kvType.toStdString() + "\"");
    }
    if (has(j, "weights")) {
        doc.weights = QString::fromStdString(string(j.at("weights"), "weights"));
        if (!doc.weights.isEmpty()) {
            try {
                logitscope::weightTypesNamed(doc.weights.toStdString());
            } catch (const logitscope::Error& e) {
                fail("weights", e.what());
            }
        }
    }
    doc.prompt = QString::fromStdString(string(member(j, "prompt", ""), "prompt"));
    if (has(j, "chat"))
        doc.chat = boolean(j.at("chat"), "chat");
    if (has(j, "system"))
        doc.system = QString::fromStdString(string(j.at("system"), "system"));
    doc.settings = settingsAt(member(j, "settings", ""), "settings");
    if (has(j, "current_lane"))
        doc.currentLane = int(integer(j.at("current_lane"), "current_lane", 0, 1 << 20));

    const Json& lanes = array(member(j, "lanes", ""), "lanes", 4096);
    std::set<int> seen;
    for (size_t i = 0; i < lanes.size(); ++i) {
        const std::string p = at("lanes", i);
        SavedLane l;
        l.id = int(integer(member(lanes[i], "id", p), at(p, "id"), 0, 1 << 20));
        l.kind = QString::fromStdString(string(member(lanes[i], "kind", p), at(p, "kind")));
        if (l.kind != QLatin1String("root") && l.kind != QLatin1String("lane") && l.kind != QLatin1String("branch"))
            fail(at(p, "kind"), "expected \"root\", \"lane\" or \"branch\", got \"" + l.kind.toStdString() + "\"");
        if ((i == 0) != (l.kind == QLatin1String("root")))
            fail(at(p, "kind"), i == 0 ? "the first lane must be the root" : "only the first lane can be the root");
        if (!seen.insert(l.id).second)
            fail(at(p, "id"), "lane " + std::to_string(l.id) + " appears twice");
        if (has(lanes[i], "parent"))
            l.parent = int(integer(lanes[i].at("parent"), at(p, "parent"), -1, 1 << 20));
        if (i > 0 && !seen.count(l.parent))
            fail(at(p, "parent"), "lane " + std::to_string(l.parent) + " is not listed before this lane");
        if (has(lanes[i], "fork_step"))
            l.forkStep = int(integer(lanes[i].at("fork_step"), at(p, "fork_step"), 0, 1 << 24));
        l.settings = settingsAt(member(lanes[i], "settings", p), at(p, "settings"));
        const Json& tokens = array(member(lanes[i], "tokens", p), at(p, "tokens"), 1 << 22);
        for (size_t t = 0; t < tokens.size(); ++t) {
            const std::string q = at(at(p, "tokens"), t);
            SavedToken tok;
            tok.id = int32_t(integer(member(tokens[t], "id", q), at(q, "id"), 0));
            if (has(tokens[t], "forced"))
                tok.forced = boolean(tokens[t].at("forced"), at(q, "forced"));
            l.tokens.push_back(tok);
        }
        if (l.kind != QLatin1String("root") && l.forkStep > int(l.tokens.size()))
            fail(at(p, "fork_step"), "larger than the lane's token count");
        doc.lanes.append(l);
    }
    if (doc.lanes.isEmpty())
        fail("lanes", "at least the root lane is needed");
    if (!seen.count(doc.currentLane))
        fail("current_lane", "lane " + std::to_string(doc.currentLane) + " is not in \"lanes\"");
    if (has(j, "comparison")) {
        const Json& comparison = array(j.at("comparison"), "comparison", 4);
        for (size_t i = 0; i < comparison.size(); ++i) {
            const std::string p = at("comparison", i);
            SavedComparisonLane c;
            c.lane = int(integer(member(comparison[i], "lane", p), at(p, "lane"), 0, 1 << 20));
            c.steps = int(integer(member(comparison[i], "steps", p), at(p, "steps"), 0, 1 << 22));
            const SavedLane* lane = nullptr;
            for (const SavedLane& l : doc.lanes)
                if (l.id == c.lane)
                    lane = &l;
            if (!lane)
                fail(at(p, "lane"), "lane " + std::to_string(c.lane) + " is not in \"lanes\"");
            if (c.steps > int(lane->tokens.size()) - lane->forkStep)
                fail(at(p, "steps"), "more than lane " + std::to_string(c.lane) + " generated after its fork");
            doc.comparison.append(c);
        }
        if (doc.comparison.size() == 1)
            fail("comparison", "a comparison needs two to four lanes");
    }
    return doc;
}

bool saveSessionFile(const QString& path, const SessionDocument& doc, QString* error)
{
    return writeFileAtomically(path, sessionToJson(doc), error);
}

bool loadSessionFile(const QString& path, SessionDocument* doc, QString* error)
{
    QByteArray bytes;
    if (!readFileLimited(path, &bytes, error, 64ll << 20))
        return false;
    try {
        *doc = sessionFromJson(bytes);
        return true;
    } catch (const std::exception& e) {
        if (error)
            *error = QObject::tr("%1 is not a usable session file: %2").arg(QFileInfo(path).fileName(), QString::fromUtf8(e.what()));
        return false;
    }
}

} // namespace logitscope::gui
