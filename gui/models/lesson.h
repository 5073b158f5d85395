// Lesson: one ready-made experiment as read from a lesson file (resources/lessons/*.json, format in
// docs/lesson-format.md): model, prompt, settings, lanes and the annotated steps with their checks.
// Only the data and its validation (errors name the file and the field); playing it is lesson_player.h.
// Qt-free, so the tests and any tool can read lesson files without a window.
#pragma once

#include "decoding/sampling_params.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace logitscope::gui {

// A malformed lesson file. what() reads "FILE: FIELD: problem", e.g.
// "temperature.json: steps[2].check.kind: unknown check "entropy_ordr" (known: ...)".
class LessonError : public std::runtime_error {
public:
    LessonError(const std::string& source, const std::string& field, const std::string& problem);
    const std::string& field() const { return m_field; }

private:
    std::string m_field;
};

enum class LessonAction {
    Prefill,          // read the prompt (args.prompt replaces it); makes lane 0 and forks the other lanes
    Step,             // every unfinished lane chooses one token (args.lane: only that one)
    Steps,            // "steps N": N such steps, or until every lane finished
    Rewind,           // "rewind N": take back N tokens on every lane (or args.lane)
    Set,              // change settings: args {"lane": i (default: all), "settings": {...}}
    Fork,             // a new lane sharing every KV block: args {"from": i, "label", "settings"}
    Beam,             // beam search from the prompt: args {"settings": {...}, "label"}
    Tokenize,         // split args.text with the model's tokenizer and the lesson's second tokenizer
    Recompute,        // measure args.tokens decode steps with the KV cache and without (re-reading everything)
    SweepContext,     // prefill + decode at each args.lengths; memory of attention scores and KV cache
    SweepThroughput,  // args.batches sequences decoded together; tokens/s in total and per sequence
    KvPrecision,      // the prompt decoded args.tokens steps twice, K/V kept as fp32 and as fp16: bytes and distributions
    WeightPrecision,  // the model's matrices requantized to each of args.types; distributions along the original's greedy path
    ShowPanel,        // "show-panel NAME": only points at a view
};

const char* lessonActionName(LessonAction action); // "prefill", "steps", "sweep-context", ...

struct LessonCheck {
    std::string kind;      // one of lessonCheckKinds()
    nlohmann::json args;   // the whole check object (kind included)
    std::string claim;     // optional "claim": the observation in words, shown next to ✓ / ✗
};

struct LessonStep {
    LessonAction action = LessonAction::Step;
    int count = 1;               // Steps / Rewind
    std::string panelName;       // ShowPanel's NAME
    nlohmann::json args = nlohmann::json::object();
    std::string text;            // what to do and what to notice (a little HTML allowed)
    std::string panel;           // which view it is about (one of lessonPanels()); may be empty
    bool hasCheck = false;
    LessonCheck check;
};

struct LessonLane {
    std::string label;
    nlohmann::json settings = nlohmann::json::object(); // overrides on top of the lesson's settings
    logitscope::SamplingParams params;                  // lesson settings + these overrides, validated
};

// A second tokenizer for comparisons (tokenization lesson): the first candidate file that exists.
struct LessonTokenizer {
    std::string label;                 // e.g. "GPT-2 byte-level BPE"
    std::vector<std::string> paths;    // relative to the lesson file; "$SHARED/..." = $LOGITSCOPE_SHARED_DIR
};

struct Lesson {
    std::string source;        // the file it came from (for messages and relative paths)
    std::string id, title, summary;
    std::string model;         // empty: the bundled default model
    std::string prompt;
    bool chat = false;
    nlohmann::json settings = nlohmann::json::object();
    logitscope::SamplingParams params;   // `settings` parsed and validated
    std::vector<LessonLane> lanes;       // at least one (lane 0 = the root lane)
    std::vector<LessonStep> steps;
    bool hasTokenizerB = false;
    LessonTokenizer tokenizerB;
};

// Parses and validates a lesson; throws LessonError naming the field.
Lesson parseLesson(const std::string& text, const std::string& source);
Lesson loadLessonFile(const std::string& path);
// Every *.json in a folder, sorted by file name (lessons are numbered "01-tokenization.json" ...).
// A file that does not parse throws; use loadLessonFile per file to skip bad ones.
std::vector<std::string> lessonFiles(const std::string& directory);

const std::vector<std::string>& lessonCheckKinds();
const std::vector<std::string>& lessonPanels(); // "probabilities", "attention", "kv", ...

// Lesson settings with overrides merged in (keys of `overrides` replace those of `base`).
nlohmann::json mergeSettings(const nlohmann::json& base, const nlohmann::json& overrides);

} // namespace logitscope::gui
