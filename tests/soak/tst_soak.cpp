// Soak: 10,000 steps on the default model with random rewinds, branches, lane forks, lane closes and
// settings changes; afterwards the KV blocks and the resident memory are back at their baseline.
// Label bench (minutes, not a unit test). Under the asan preset LeakSanitizer checks the whole run at exit.
// LOGITSCOPE_SOAK_STEPS overrides the step count; LOGITSCOPE_SOAK_MODEL the model.
#include "common/error.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"

#include <QtTest>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

using namespace logitscope;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true; // its quarantine keeps freed memory resident: RSS says nothing
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// VmRSS of this process in KiB (0 when /proc is not there).
long residentKiB()
{
    std::ifstream in("/proc/self/status");
    std::string key;
    long value = 0;
    while (in >> key) {
        if (key == "VmRSS:") {
            in >> value;
            return value;
        }
        in.ignore(1 << 12, '\n');
    }
    return 0;
}

std::string soakModelPath()
{
    if (const char* env = std::getenv("LOGITSCOPE_SOAK_MODEL"))
        return env;
    const std::string bundled = std::string(LOGITSCOPE_SOURCE_DIR) + "/resources/models/logitscope-brown";
    if (std::filesystem::exists(bundled + "/config.json"))
        return bundled;
    const std::string ref = std::string(LOGITSCOPE_SHARED_DIR) + "/models/ref-llama-spm";
    if (std::filesystem::exists(ref + "/config.json"))
        return ref;
    return "";
}

SamplingParams randomSettings(std::mt19937_64& rng, int maxNew)
{
    std::uniform_real_distribution<double> u(0, 1);
    SamplingParams p;
    p.temperature = u(rng) < 0.15 ? 0.0 : 0.2 + 1.3 * u(rng);
    p.topK = u(rng) < 0.5 ? 0 : 1 + int(rng() % 100);
    p.topP = u(rng) < 0.5 ? 1.0 : 0.05 + 0.95 * u(rng);
    p.minP = u(rng) < 0.7 ? 0.0 : 0.2 * u(rng);
    p.typicalP = u(rng) < 0.8 ? 1.0 : 0.2 + 0.8 * u(rng);
    p.repetitionPenalty = u(rng) < 0.6 ? 1.0 : 0.8 + 0.7 * u(rng);
    p.presencePenalty = u(rng) < 0.7 ? 0.0 : 4 * u(rng) - 2;
    p.frequencyPenalty = u(rng) < 0.7 ? 0.0 : 4 * u(rng) - 2;
    p.noRepeatNgram = u(rng) < 0.8 ? 0 : 2 + int(rng() % 3);
    p.minNewTokens = u(rng) < 0.8 ? 0 : int(rng() % 8);
    p.maxNewTokens = maxNew;
    if (u(rng) < 0.3)
        p.stop = {".", "\n\n"};
    p.seed = rng();
    p.order = SamplerOrder(rng() % 3);
    return p;
}

} // namespace

class TestSoak : public QObject {
    Q_OBJECT

private slots:
    void randomWalk()
    {
        const std::string path = soakModelPath();
        if (path.empty())
            QSKIP("no default model (resources/models/logitscope-brown) and no ../shared/models/ref-llama-spm");
        const int totalSteps = std::getenv("LOGITSCOPE_SOAK_STEPS") ? std::atoi(std::getenv("LOGITSCOPE_SOAK_STEPS")) : 10000;
        const auto model = Model::load(path);
        Session s(model, createBackend(model, "cpu", 2));
        std::mt19937_64 rng(20261126);
        const auto prompt = s.tokenize("The jury said that the city of Atlanta");
        const int maxNew = std::min(160, model->config().contextLength - int(prompt.size()) - 1);
        s.prefill(prompt, randomSettings(rng, maxNew));

        // Baseline: the root lane one step in and rewound (so it owns its copy of the shared tail block).
        const auto resetToBaseline = [&] {
            for (const LaneInfo& l : s.lanes())
                if (l.id != 0)
                    s.closeLane(l.id);
            s.rewind(0, int(s.generatedIds(0).size()));
        };
        s.step(0);
        resetToBaseline();
        const KvStats kv0 = s.kvStats();

        int steps = 0, rewinds = 0, forks = 0, branches = 0, closes = 0, settings = 0, warmup = totalSteps / 20;
        long rss0 = 0;
        const auto t0 = std::chrono::steady_clock::now();
        std::uniform_int_distribution<int> pct(0, 99);
        while (steps < totalSteps) {
            if (steps >= warmup && rss0 == 0) { // after the pools have grown once
                resetToBaseline();
                QCOMPARE(s.kvStats().blocksUsed, kv0.blocksUsed);
                rss0 = residentKiB();
            }
            const std::vector<LaneInfo> lanes = s.lanes();
            const LaneInfo& lane = lanes[rng() % lanes.size()];
            const int generated = int(s.generatedIds(lane.id).size());
            const int op = pct(rng);
            if (lane.finished || generated >= maxNew - 1 || (op < 10 && generated > 0)) {
                s.rewind(lane.id, 1 + int(rng() % uint64_t(generated)));
                ++rewinds;
            } else if (op < 16 && lanes.size() < 6) {
                s.fork(lane.id);
                ++forks;
            } else if (op < 22 && lanes.size() < 6 && generated > 0) {
                const int at = int(rng() % uint64_t(generated));
                const StepRecord& rec = s.history(lane.id)[size_t(at)];
                const int32_t token = rec.rawTop.size() > 1 ? rec.rawTop[1].id : rec.chosen;
                s.branch(lane.id, at, token);
                ++branches, ++steps;
            } else if (op < 27 && lane.id != 0) {
                s.closeLane(lane.id);
                ++closes;
            } else if (op < 33) {
                s.setSampling(lane.id, randomSettings(rng, maxNew));
                ++settings;
            } else {
                s.step(lane.id);
                ++steps;
            }
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const KvStats peak = s.kvStats();
        resetToBaseline();
        const KvStats kv1 = s.kvStats();
        const long rss1 = residentKiB();
        qInfo("soak on %s: %d steps (%d branches), %d rewinds, %d forks, %d closes, %d settings changes in %.1f s",
              path.c_str(), steps, branches, rewinds, forks, closes, settings, seconds);
        qInfo("KV blocks used: baseline %d, end %d (capacity %d); RSS: baseline %ld KiB, end %ld KiB (%+ld KiB)",
              kv0.blocksUsed, kv1.blocksUsed, peak.blocksTotal, rss0, rss1, rss1 - rss0);
        QCOMPARE(kv1.blocksUsed, kv0.blocksUsed);
        QCOMPARE(kv1.sequences, kv0.sequences);
        QCOMPARE(kv1.tokensLogical, kv0.tokensLogical);
        // Resident memory returns to the baseline: a leak of even 1 KiB per step would show as 10 MB.
        // (Under AddressSanitizer LeakSanitizer does this job at exit instead.)
        if (!kAddressSanitizer)
            QVERIFY2(rss1 - rss0 < 8 * 1024, qPrintable(QString("RSS grew by %1 KiB").arg(rss1 - rss0)));
    }
};

QTEST_GUILESS_MAIN(TestSoak)
#include "tst_soak.moc"
