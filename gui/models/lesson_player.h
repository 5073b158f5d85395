// LessonPlayer: plays a Lesson's steps on an engine Session of its own, synchronously, records what each
// step measured (lanes, beam runs, sweeps, tokenizations) and evaluates the step's check against it.
// The tests use it directly; in the app LessonRunner (lesson_runner.h) runs it on a pool thread next to
// the InferenceController, which shows the same experiment in the ordinary panels.
// Qt-free and not thread-safe: one thread plays one player. Sources: lesson_player.cpp (actions),
// lesson_checks.cpp (evaluate), lesson_report.cpp (the HTML of each step).
#pragma once

#include "models/lesson.h"

#include "decoding/session.h"
#include "tokenizer/tokenizer.h"

#include <memory>
#include <string>
#include <vector>

namespace logitscope::gui {

struct CheckResult {
    enum class Status { Pass, Fail, Skipped };
    Status status = Status::Skipped;
    std::string detail;   // the numbers behind the verdict, e.g. "entropy 0.41 < 1.73 < 2.62 nats"
    bool passed() const { return status == Status::Pass; }
};
const char* checkStatusName(CheckResult::Status status); // "pass", "fail", "skipped"

struct StepOutcome {
    int index = -1;
    std::string error;        // the action failed (the check is then a failure too)
    bool hasCheck = false;
    CheckResult check;
    std::string reportHtml;   // what the step measured, as a small HTML table for the Lessons panel
};

struct TokenSplit {
    std::string label;
    bool available = false;
    std::string note;                 // why it is not available
    std::vector<std::string> pieces;  // the bytes each token stands for
    std::vector<int32_t> ids;
};
struct TokenizeResult {
    std::string text;
    int words = 0, characters = 0, bytes = 0;
    TokenSplit model, second;
};
struct BeamRun {
    std::string label;
    logitscope::SamplingParams params;
    logitscope::BeamResult result;
    std::vector<std::string> texts;   // per hypothesis, best first
};
struct ContextSweepRow {
    int length = 0;
    double prefillMs = 0;
    double decodeMsPerToken = 0;
    uint64_t scoreBytes = 0;   // one layer's attention scores for the whole prompt: H x L x L x 4
    uint64_t kvBytes = 0;      // L x bytes per token
};
struct ThroughputRow {
    int batch = 0;
    double msPerStep = 0;          // one decoding step of all `batch` sequences
    double tokensPerSecond = 0;    // all sequences together
    double perSequenceTokensPerSecond = 0;
};
struct RecomputeResult {
    int tokens = 0;
    double cachedMs = 0;      // decode steps with the KV cache
    double recomputeMs = 0;   // the same tokens, re-reading the whole sequence for each
};

struct KvPrecisionResult {
    int tokens = 0;                    // greedy steps compared
    size_t bytesPerTokenF32 = 0, bytesPerTokenF16 = 0;
    double maxProbDiff = 0;            // largest |p_fp32 - p_fp16| of a raw next-token probability (top 20)
    int maxDiffStep = 0;               // where it was
    int sameChoices = 0;               // steps whose greedy choice was the same token
};

struct WeightPrecisionRow {
    std::string type;                  // as the lesson names it: "q8_0", "q4_k_m"
    std::string weights;               // what the matrices became (Model::dtypeSummary): "Q8_0", "Q5_0+Q8_0"
    size_t weightBytes = 0;
    double meanKl = 0, maxKl = 0;      // KL(original ‖ requantized) of the whole next-token distribution, per step
    int sameChoices = 0;               // steps whose most likely token was the same
    double promptPerplexity = 0;       // of the lesson's prompt, from this copy's prefill
};
struct WeightPrecisionResult {
    int tokens = 0;                    // positions compared (the prompt's last and the original's greedy tokens)
    std::string weights;               // the model as loaded: "F16"
    size_t weightBytes = 0;
    double promptPerplexity = 0;       // the model as loaded
    std::vector<WeightPrecisionRow> rows; // in the lesson's order
};

class LessonPlayer {
public:
    // `model` may be null: it is loaded from `modelPath` on first use.
    LessonPlayer(Lesson lesson, std::string modelPath, std::shared_ptr<const logitscope::Model> model = nullptr);
    ~LessonPlayer();

    const Lesson& lesson() const { return m_lesson; }
    const std::string& modelPath() const { return m_modelPath; }
    int nextStep() const { return m_next; }
    bool done() const { return m_next >= int(m_lesson.steps.size()); }

    // Plays the next step and evaluates its check. Never throws for engine or check errors (they are in
    // the outcome); throws LessonError only for a model that cannot be loaded.
    StepOutcome playNext();
    void restart();   // back to before step 0 (the model stays loaded)

    // ---- what was measured (for the runner, the report, the tests) ----
    const logitscope::Session* session() const { return m_session.get(); }
    int laneCount() const { return int(m_laneIds.size()); }
    int laneId(int lessonLane) const;
    std::string laneLabel(int lessonLane) const;
    const logitscope::SamplingParams& laneParams(int lessonLane) const;
    const std::vector<TokenizeResult>& tokenizations() const { return m_tokenizations; }
    const std::vector<BeamRun>& beamRuns() const { return m_beams; }
    const std::vector<ContextSweepRow>& contextSweep() const { return m_contextSweep; }
    const std::vector<ThroughputRow>& throughputSweep() const { return m_throughputSweep; }
    const std::optional<RecomputeResult>& recompute() const { return m_recompute; }
    const std::optional<KvPrecisionResult>& kvPrecision() const { return m_kvPrecision; }
    const std::optional<WeightPrecisionResult>& weightPrecision() const { return m_weightPrecision; }
    std::string currentPrompt() const { return m_prompt; }
    // The text the last prefill tokenized: the prompt, or with "chat": true the prompt wrapped in the
    // model's chat template. chatNote() says why the raw prompt was used instead (the model has no
    // template, or none Logitscope recognises); chatFamily() names the template ("chatml", ...).
    const std::string& promptText() const { return m_promptText.text; }
    const std::string& chatFamily() const { return m_promptText.family; }
    const std::string& chatNote() const { return m_promptText.notice; }
    // Where tokens per second stop growing much with more sequences (first batch whose doubling gains < 30 %).
    int throughputKnee() const;

    // Evaluates a check on the current state (also usable on its own in tests).
    CheckResult evaluate(const LessonCheck& check);

private:
    void ensureModel();
    logitscope::Session& lab();     // a second session for sweeps and measurements (no captures)
    void act(const LessonStep& step);
    void prefill(const nlohmann::json& args);
    void stepAll(const nlohmann::json& args);
    TokenizeResult tokenize(const std::string& text);
    std::string report(const LessonStep& step) const;
    std::string lanesReport(bool withPreview) const;
    logitscope::StepRecord previewOf(int lessonLane) const;
    const logitscope::Tokenizer* secondTokenizer(std::string* note);
    logitscope::ChatRendering renderPrompt(const std::string& prompt) const;   // "chat" applied

    Lesson m_lesson;
    std::string m_modelPath;
    std::shared_ptr<const logitscope::Model> m_model;
    std::unique_ptr<logitscope::Session> m_session;
    std::unique_ptr<logitscope::Session> m_lab;
    std::unique_ptr<logitscope::Tokenizer> m_tokB;
    bool m_tokBTried = false;
    std::string m_tokBNote;
    int m_next = 0;
    std::string m_prompt;
    logitscope::ChatRendering m_promptText;       // what the last prefill tokenized
    bool m_prefilledNow = false;                  // the step being played ran a prefill (the report shows it)
    std::vector<int> m_laneIds;                   // lesson lane -> session lane
    std::vector<std::string> m_laneLabels;
    std::vector<nlohmann::json> m_laneSettings;   // overrides on top of the lesson settings
    std::vector<logitscope::SamplingParams> m_laneParams;
    std::vector<TokenizeResult> m_tokenizations;
    std::vector<BeamRun> m_beams;
    std::vector<ContextSweepRow> m_contextSweep;
    std::vector<ThroughputRow> m_throughputSweep;
    std::optional<RecomputeResult> m_recompute;
    std::optional<KvPrecisionResult> m_kvPrecision;
    std::optional<WeightPrecisionResult> m_weightPrecision;
    std::string m_lastReport;
};

// HTML-escapes text and shows control bytes and the SentencePiece space visibly ("·", "\n").
std::string lessonHtmlEscape(const std::string& text);

} // namespace logitscope::gui
