// The bars of one step, derived from the chain's per-stage snapshots.
#include "models/distribution.h"

#include "models/token_display.h"

#include <QObject>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace logitscope::gui {

bool isGrammarStage(const QString& stage)
{
    return stage.compare(QLatin1String("grammar"), Qt::CaseInsensitive) == 0;
}

bool isPenaltyStage(const QString& stage)
{
    if (isGrammarStage(stage))
        return true; // a mask, drawn as "forbidden by the grammar" rather than as a cut-off
    const QString s = stage.toLower();
    return s.contains(QLatin1String("bias")) || s == QLatin1String("dry") || s.contains(QLatin1String("penal")) || s.contains(QLatin1String("repe")) || s.contains(QLatin1String("gram"))
        || s.contains(QLatin1String("presence")) || s.contains(QLatin1String("frequency")) || s.contains(QLatin1String("min-new"))
        || s.contains(QLatin1String("min_new")) || s.contains(QLatin1String("minnew"));
}

QString prettyStageName(const QString& stage)
{
    QString s = stage;
    s.replace(QLatin1Char('_'), QLatin1Char('-'));
    return s;
}

namespace {

struct StageView {
    QString name;
    int survivors = 0;
    bool complete = false; // the recorded top holds every survivor
    std::unordered_map<int32_t, std::pair<float, float>> byId; // id -> (logit, prob)
    std::unordered_map<int32_t, int> rank;
    std::unordered_set<int32_t> penalised; // ids a penalty stage changed or masked
};

} // namespace

Distribution makeDistribution(const logitscope::StepRecord& record, int k, const Vocabulary& vocabulary, bool preview)
{
    Distribution d;
    d.valid = true;
    d.lane = record.lane;
    d.step = record.step;
    d.preview = preview;
    d.chosen = preview ? record.sample.chosen : record.chosen;
    if (d.chosen < 0)
        d.chosen = record.sample.chosen;

    // Stage views.
    std::vector<StageView> stages;
    stages.reserve(record.sample.stages.size());
    for (const auto& st : record.sample.stages) {
        StageView v;
        v.name = QString::fromStdString(st.name);
        v.survivors = int(st.survivors);
        v.complete = int(st.top.size()) >= v.survivors;
        for (int i = 0; i < int(st.top.size()); ++i) {
            v.byId.emplace(st.top[i].id, std::make_pair(st.top[i].logit, st.top[i].prob));
            v.rank.emplace(st.top[i].id, i);
        }
        v.penalised.insert(st.penalised.begin(), st.penalised.end());
        StageSummary sum;
        sum.name = prettyStageName(v.name);
        sum.survivors = v.survivors;
        sum.entropy = st.entropy;
        for (const auto& c : st.top)
            sum.top.append(c.prob);
        sum.detail = QString::fromStdString(st.detail);
        if (isGrammarStage(v.name) && sum.detail.isEmpty())
            sum.detail = QObject::tr("removed %1%").arg(100.0 * st.removedMass, 0, 'f', 1);
        d.stages.append(sum);
        if (isGrammarStage(v.name)) {
            d.grammar.active = true;
            d.grammar.removedMass = st.removedMass;
            d.grammar.position = QString::fromStdString(st.grammarPosition);
            if (!stages.empty())
                d.grammar.forbiddenCount = std::max(0, stages.back().survivors - v.survivors);
            for (const auto& f : st.forbidden) {
                QString label = tokenLabel(vocabulary.bytes(f.id), 12);
                d.grammar.forbidden.append({label.isEmpty() ? QString::number(f.id) : label, double(f.prob)});
            }
        }
        stages.push_back(std::move(v));
    }

    // Display set: the raw top-k, plus the chosen token when it lies outside.
    std::vector<std::pair<int32_t, double>> raw; // id, raw prob
    for (const auto& t : record.rawTop) {
        if (int(raw.size()) >= k)
            break;
        raw.emplace_back(t.id, std::exp(double(t.logprob)));
    }
    const bool chosenShown = std::any_of(raw.begin(), raw.end(), [&](auto& p) { return p.first == d.chosen; });
    if (!chosenShown && d.chosen >= 0) {
        double p = std::numeric_limits<double>::quiet_NaN();
        for (const auto& t : record.rawTop)
            if (t.id == d.chosen)
                p = std::exp(double(t.logprob));
        if (!preview && d.chosen == record.chosen)
            p = std::exp(double(record.chosenLogprob));
        raw.emplace_back(d.chosen, std::isfinite(p) ? p : 0.0);
    }

    for (const auto& [id, rawProb] : raw) {
        BarCandidate c;
        c.id = id;
        c.bytes = vocabulary.bytes(id);
        if (c.bytes.isEmpty() && id == record.chosen)
            c.bytes = QByteArray(record.bytes.data(), qsizetype(record.bytes.size()));
        c.label = c.bytes.isEmpty() ? vocabulary.piece(id) : tokenLabel(c.bytes, 12);
        if (c.label.isEmpty())
            c.label = QString::number(id);
        c.rawProb = rawProb;
        c.chosen = id == d.chosen;

        bool alive = true;
        int prevRank = -1;
        for (size_t s = 0; s < stages.size() && alive; ++s) {
            const StageView& v = stages[s];
            const bool touched = v.penalised.count(id) != 0;
            auto it = v.byId.find(id);
            if (it != v.byId.end() && std::isfinite(it->second.first)) {
                c.penalised |= touched;
                prevRank = v.rank.at(id);
                continue;
            }
            // Absent from this stage's recorded top: removed when a penalty masked it, when the record
            // is complete, or when it ranked beyond the stage's survivors before it (tail truncation).
            // A penalty that only lowered a logit can push a token out of the recorded top without
            // removing it: it counts as masked only when the stage reduced the survivors.
            const bool masked = touched && s > 0 && v.survivors < stages[s - 1].survivors;
            if (masked || (!touched && v.complete) || (prevRank >= 0 && prevRank >= v.survivors)) {
                alive = false;
                c.removedBy = prettyStageName(v.name);
                c.forbidden = isGrammarStage(v.name);
                c.penalised |= touched;
            } else {
                c.penalised |= touched;
                prevRank = -1; // beyond the recorded top: unknown from here on
            }
        }
        if (!alive) {
            c.finalProb = 0;
        } else if (!stages.empty()) {
            auto it = stages.back().byId.find(id);
            if (it != stages.back().byId.end()) {
                c.finalProb = it->second.second;
            } else if (c.chosen) {
                c.finalProb = preview ? record.sample.chosenProb : record.chosenProb; // recorded with the choice
            } else {
                c.finalProb = 0;
                c.finalKnown = false;
            }
        } else {
            c.finalProb = rawProb;
        }
        d.bars.append(c);
    }

    // Greedy (T = 0) is the limit T -> 0 of the temperature stage: every survivor but the chosen top
    // token goes to 0 and the chosen one to 1. The engine skips the warpers instead of running that
    // limit; draw it as its own last stage so the bars and the strip show what stepping does.
    if (record.sample.greedy && d.chosen >= 0) {
        const QString greedy = QStringLiteral("greedy");
        for (auto& c : d.bars) {
            if (!c.removedBy.isEmpty())
                continue;
            c.finalKnown = true;
            c.finalProb = c.id == d.chosen ? 1.0 : 0.0;
            if (c.id != d.chosen)
                c.removedBy = greedy;
        }
        StageSummary sum;
        sum.name = greedy;
        sum.survivors = 1;
        sum.entropy = 0;
        sum.top = {1.0};
        d.stages.append(sum);
        StageView v;
        v.name = greedy;
        stages.push_back(v);
    }

    // Cut-off lines: before the first bar (in raw order) that a truncation stage removed.
    for (const auto& v : stages) {
        if (isPenaltyStage(v.name))
            continue;
        const QString name = prettyStageName(v.name);
        for (int i = 0; i < d.bars.size(); ++i)
            if (d.bars[i].removedBy == name) {
                d.cuts.append({name, i - 0.5});
                break;
            }
    }

    for (const auto& c : d.bars)
        if (c.id == d.chosen) {
            d.chosenLabel = c.label;
            d.chosenRawProb = c.rawProb;
        }
    d.chosenProb = record.sample.greedy ? 1.0 : preview ? record.sample.chosenProb : record.chosenProb;
    if (d.chosenLabel.isEmpty() && d.chosen >= 0)
        d.chosenLabel = tokenLabel(vocabulary.bytes(d.chosen), 12);
    return d;
}

} // namespace logitscope::gui
