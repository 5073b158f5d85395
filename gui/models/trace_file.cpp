// Trace JSON (CLI shape) both ways, CSV tables, atomic writes.
#include "models/trace_file.h"

#include "decoding/finish_reason.h"
#include "models/json_fields.h"

#include <QFile>
#include <QSaveFile>

#include <cmath>
#include <set>

namespace logitscope::gui {

using json::Json;

QByteArray Trace::tokenBytes(int32_t id) const
{
    const auto it = pieces.constFind(id);
    if (it != pieces.constEnd())
        return *it;
    for (const auto& s : steps)
        if (s.chosen == id)
            return QByteArray::fromStdString(s.bytes);
    return {};
}

namespace {

Json stageJson(const logitscope::StageSnapshot& s)
{
    Json top = Json::array();
    for (const auto& c : s.top)
        top.push_back({{"id", c.id}, {"logit", std::isfinite(c.logit) ? Json(c.logit) : Json()}, {"prob", c.prob}});
    return {{"name", s.name}, {"survivors", s.survivors}, {"entropy", s.entropy}, {"top", top}, {"penalised", s.penalised}};
}

Json stepJson(const logitscope::StepRecord& r)
{
    Json stages = Json::array();
    for (const auto& s : r.sample.stages)
        stages.push_back(stageJson(s));
    Json raw = Json::array();
    for (const auto& t : r.rawTop)
        raw.push_back({{"id", t.id}, {"logprob", t.logprob}});
    Json j = {{"step", r.step}, {"position", r.position}, {"id", r.chosen}, {"bytes", r.bytes}, {"text", r.text},
              {"forced", r.forced}, {"logprob", r.chosenLogprob}, {"prob", r.chosenProb}, {"draw", r.sample.draw},
              {"raw_top", raw}, {"stages", stages}, {"forward_ms", r.forwardMs}, {"sample_ms", r.sampleMs},
              {"finish", logitscope::finishReasonName(r.finish)}};
    if (!r.lens.empty()) {
        Json layers = Json::array();
        for (const auto& layer : r.lens) {
            Json top = Json::array();
            for (const auto& t : layer)
                top.push_back({{"id", t.id}, {"logprob", t.logprob}});
            layers.push_back(std::move(top));
        }
        j["lens"] = layers;
        j["lens_rank"] = r.lensChosenRank;
        j["lens_prob"] = r.lensChosenProb;
    }
    return j;
}

logitscope::StepRecord stepFromJson(const Json& j, const std::string& path)
{
    using namespace json;
    logitscope::StepRecord r;
    r.step = int(integer(member(j, "step", path), at(path, "step"), 0));
    r.position = int(integer(member(j, "position", path), at(path, "position"), 0));
    r.chosen = int32_t(integer(member(j, "id", path), at(path, "id"), 0));
    r.bytes = string(member(j, "bytes", path), at(path, "bytes"));
    if (has(j, "text"))
        r.text = string(j.at("text"), at(path, "text"));
    if (has(j, "forced"))
        r.forced = boolean(j.at("forced"), at(path, "forced"));
    r.chosenLogprob = float(number(member(j, "logprob", path), at(path, "logprob")));
    r.chosenProb = float(number(member(j, "prob", path), at(path, "prob")));
    if (has(j, "draw"))
        r.sample.draw = float(number(j.at("draw"), at(path, "draw")));
    r.sample.chosen = r.chosen;
    r.sample.chosenProb = r.chosenProb;
    const Json& raw = array(member(j, "raw_top", path), at(path, "raw_top"), 100000);
    for (size_t i = 0; i < raw.size(); ++i) {
        const std::string p = at(at(path, "raw_top"), i);
        logitscope::TokenLogprob t;
        t.id = int32_t(integer(member(raw[i], "id", p), at(p, "id"), 0));
        t.logprob = float(number(member(raw[i], "logprob", p), at(p, "logprob"), true));
        r.rawTop.push_back(t);
    }
    const Json& stages = array(member(j, "stages", path), at(path, "stages"), 1000);
    for (size_t s = 0; s < stages.size(); ++s) {
        const std::string p = at(at(path, "stages"), s);
        logitscope::StageSnapshot snap;
        snap.name = string(member(stages[s], "name", p), at(p, "name"));
        snap.survivors = int(integer(member(stages[s], "survivors", p), at(p, "survivors"), 0));
        snap.entropy = float(number(member(stages[s], "entropy", p), at(p, "entropy")));
        const Json& top = array(member(stages[s], "top", p), at(p, "top"), 100000);
        for (size_t i = 0; i < top.size(); ++i) {
            const std::string q = at(at(p, "top"), i);
            logitscope::Candidate c;
            c.id = int32_t(integer(member(top[i], "id", q), at(q, "id"), 0));
            c.logit = float(number(member(top[i], "logit", q), at(q, "logit"), true));
            c.prob = float(number(member(top[i], "prob", q), at(q, "prob")));
            snap.top.push_back(c);
        }
        if (has(stages[s], "penalised")) {
            const Json& pen = array(stages[s].at("penalised"), at(p, "penalised"), 1u << 22);
            for (size_t i = 0; i < pen.size(); ++i)
                snap.penalised.push_back(int32_t(integer(pen[i], at(at(p, "penalised"), i), 0)));
        }
        r.sample.stages.push_back(std::move(snap));
    }
    if (has(j, "forward_ms"))
        r.forwardMs = number(j.at("forward_ms"), at(path, "forward_ms"));
    if (has(j, "sample_ms"))
        r.sampleMs = number(j.at("sample_ms"), at(path, "sample_ms"));
    if (has(j, "finish")) {
        const std::string name = string(j.at("finish"), at(path, "finish"));
        const auto f = logitscope::finishReasonFromName(name);
        if (!f)
            fail(at(path, "finish"), "unknown finish reason \"" + name + "\"");
        r.finish = *f;
    }
    return r;
}

} // namespace

QByteArray traceToJson(const Trace& trace, const Vocabulary* vocabulary)
{
    Json steps = Json::array();
    std::set<int32_t> ids;
    for (const auto& r : trace.steps) {
        steps.push_back(stepJson(r));
        ids.insert(r.chosen);
        for (const auto& t : r.rawTop)
            ids.insert(t.id);
        for (const auto& s : r.sample.stages)
            for (const auto& c : s.top)
                ids.insert(c.id);
    }
    Json j = {{"steps", steps}};
    j["model"] = trace.model.toStdString();
    j["prompt"] = trace.prompt.toStdString();
    j["prompt_ids"] = trace.promptIds;
    j["settings"] = nlohmann::json(trace.settings);
    if (vocabulary && vocabulary->isValid()) {
        Json pieces = Json::object();
        for (int32_t id : ids)
            pieces[std::to_string(id)] = vocabulary->bytes(id).toStdString();
        j["pieces"] = pieces;
    }
    return QByteArray::fromStdString(j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Trace traceFromJson(const QByteArray& text)
{
    using namespace json;
    Json j;
    try {
        j = Json::parse(text.constData(), text.constData() + text.size());
    } catch (const std::exception& e) {
        throw logitscope::Error(std::string("not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object())
        fail("(top level)", "expected an object with \"steps\"");
    if (j.contains("tree") && !j.contains("steps"))
        fail("steps", "this is a beam-search trace (\"tree\"); replay shows sampled steps only");
    Trace t;
    if (has(j, "model"))
        t.model = QString::fromStdString(string(j.at("model"), "model"));
    if (has(j, "prompt"))
        t.prompt = QString::fromStdString(string(j.at("prompt"), "prompt"));
    if (has(j, "prompt_ids")) {
        const Json& ids = array(j.at("prompt_ids"), "prompt_ids");
        for (size_t i = 0; i < ids.size(); ++i)
            t.promptIds.push_back(int32_t(integer(ids[i], at("prompt_ids", i), 0)));
    }
    if (has(j, "settings")) {
        try {
            t.settings = logitscope::samplingParamsFromJson(j.at("settings"));
        } catch (const std::exception& e) {
            fail("settings", e.what());
        }
    }
    const Json& steps = array(member(j, "steps", ""), "steps");
    for (size_t i = 0; i < steps.size(); ++i)
        t.steps.push_back(stepFromJson(steps[i], at("steps", i)));
    if (has(j, "pieces")) {
        const Json& pieces = j.at("pieces");
        if (!pieces.is_object())
            fail("pieces", "expected an object of id → bytes");
        for (auto it = pieces.begin(); it != pieces.end(); ++it) {
            bool ok = false;
            const int id = QString::fromStdString(it.key()).toInt(&ok);
            if (!ok || id < 0)
                fail(at("pieces", it.key()), "key is not a token id");
            t.pieces.insert(id, QByteArray::fromStdString(string(it.value(), at("pieces", it.key()))));
        }
    }
    return t;
}

bool writeFileAtomically(const QString& path, const QByteArray& bytes, QString* error)
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) {
        if (error)
            *error = QObject::tr("Cannot write %1: %2").arg(path, f.errorString());
        return false;
    }
    if (f.write(bytes) != bytes.size()) {
        if (error)
            *error = QObject::tr("Writing %1 failed: %2").arg(path, f.errorString());
        f.cancelWriting();
        return false;
    }
    if (!f.commit()) {
        if (error)
            *error = QObject::tr("Could not replace %1: %2").arg(path, f.errorString());
        return false;
    }
    return true;
}

bool readFileLimited(const QString& path, QByteArray* bytes, QString* error, qint64 maxBytes)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        if (error)
            *error = QObject::tr("Cannot open %1: %2").arg(path, f.errorString());
        return false;
    }
    if (f.size() > maxBytes) {
        if (error)
            *error = QObject::tr("%1 is too large (%2 bytes).").arg(path).arg(f.size());
        return false;
    }
    *bytes = f.readAll();
    return true;
}

QByteArray tableToCsv(const QAbstractItemModel& model)
{
    const auto quote = [](QString s) {
        if (s.contains(QLatin1Char(',')) || s.contains(QLatin1Char('"')) || s.contains(QLatin1Char('\n'))
            || s.contains(QLatin1Char('\r'))) {
            s.replace(QLatin1String("\""), QLatin1String("\"\""));
            return QStringLiteral("\"%1\"").arg(s);
        }
        return s;
    };
    QStringList lines;
    QStringList header;
    for (int c = 0; c < model.columnCount(); ++c)
        header << quote(model.headerData(c, Qt::Horizontal).toString());
    lines << header.join(QLatin1Char(','));
    for (int r = 0; r < model.rowCount(); ++r) {
        QStringList row;
        for (int c = 0; c < model.columnCount(); ++c)
            row << quote(model.data(model.index(r, c)).toString());
        lines << row.join(QLatin1Char(','));
    }
    return (lines.join(QStringLiteral("\r\n")) + QStringLiteral("\r\n")).toUtf8();
}

} // namespace logitscope::gui
