// SamplingParams validation and JSON conversion (see sampling_params.h).
#include "decoding/sampling_params.h"

#include "common/error.h"
#include "decoding/grammar/grammar_stage.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

namespace logitscope {

namespace {

std::string formatNumber(double v)
{
    std::ostringstream out;
    out << v;
    return out.str();
}

[[noreturn]] void fail(const std::string& key, const std::string& problem)
{
    throw Error("sampling setting '" + key + "' " + problem);
}

void requireFinite(const std::string& key, double v)
{
    if (!std::isfinite(v))
        fail(key, "must be a finite number, got " + formatNumber(v));
}

void requireRange(const std::string& key, double v, double lo, bool loOpen, double hi, bool hiOpen)
{
    requireFinite(key, v);
    const bool below = loOpen ? !(v > lo) : !(v >= lo);
    const bool above = hiOpen ? !(v < hi) : !(v <= hi);
    if (below || above)
        fail(key, std::string("must be in ") + (loOpen ? "(" : "[") + formatNumber(lo) + ", " + formatNumber(hi)
                      + (hiOpen ? ")" : "]") + ", got " + formatNumber(v));
}

} // namespace

void validate(const SamplingParams& p, int contextRemaining)
{
    requireFinite("temperature", p.temperature);
    if (p.temperature < 0)
        fail("temperature", "must be >= 0 (0 means greedy), got " + formatNumber(p.temperature));
    if (p.topK < 0)
        fail("top_k", "must be >= 0 (0 turns it off), got " + std::to_string(p.topK));
    requireRange("top_p", p.topP, 0.0, true, 1.0, false);
    requireRange("min_p", p.minP, 0.0, false, 1.0, false);
    requireRange("typical_p", p.typicalP, 0.0, true, 1.0, false);
    requireFinite("repetition_penalty", p.repetitionPenalty);
    if (!(p.repetitionPenalty > 0))
        fail("repetition_penalty", "must be > 0 (1 turns it off), got " + formatNumber(p.repetitionPenalty));
    requireRange("presence_penalty", p.presencePenalty, -2.0, false, 2.0, false);
    requireRange("frequency_penalty", p.frequencyPenalty, -2.0, false, 2.0, false);
    if (p.noRepeatNgram < 0)
        fail("no_repeat_ngram_size", "must be >= 0 (0 turns it off), got " + std::to_string(p.noRepeatNgram));
    if (p.maxNewTokens < 1)
        fail("max_new_tokens", "must be at least 1, got " + std::to_string(p.maxNewTokens));
    if (contextRemaining >= 0 && p.maxNewTokens > contextRemaining)
        fail("max_new_tokens", "is " + std::to_string(p.maxNewTokens) + " but only " + std::to_string(contextRemaining)
                                   + " tokens of context remain after the prompt");
    if (p.minNewTokens < 0)
        fail("min_new_tokens", "must be >= 0, got " + std::to_string(p.minNewTokens));
    if (p.minNewTokens > p.maxNewTokens)
        fail("min_new_tokens", "(" + std::to_string(p.minNewTokens) + ") is larger than max_new_tokens ("
                                   + std::to_string(p.maxNewTokens) + ")");
    for (size_t i = 0; i < p.stop.size(); ++i)
        if (p.stop[i].empty())
            fail("stop", "entry " + std::to_string(i) + " is an empty string");
    if (p.numBeams < 1 || p.numBeams > 64)
        fail("num_beams", "must be in [1, 64], got " + std::to_string(p.numBeams));
    requireFinite("length_penalty", p.lengthPenalty);
    if (p.numReturnSequences < 1)
        fail("num_return_sequences", "must be at least 1, got " + std::to_string(p.numReturnSequences));
    if (p.numReturnSequences > p.numBeams)
        fail("num_return_sequences", "(" + std::to_string(p.numReturnSequences) + ") is larger than num_beams ("
                                         + std::to_string(p.numBeams) + ")");
    // --- constrained decoding: the grammar must parse (Error names the field, line and column) ---
    if (hasGrammar(p))
        compileGrammar(p);
}

const char* samplerOrderName(SamplerOrder order)
{
    switch (order) {
    case SamplerOrder::HuggingFace: return "huggingface";
    case SamplerOrder::Vllm: return "vllm";
    case SamplerOrder::LlamaCpp: return "llama.cpp";
    }
    return "huggingface";
}

std::optional<SamplerOrder> samplerOrderFromName(std::string_view name)
{
    for (SamplerOrder o : {SamplerOrder::HuggingFace, SamplerOrder::Vllm, SamplerOrder::LlamaCpp})
        if (name == samplerOrderName(o))
            return o;
    return std::nullopt;
}

nlohmann::json toJson(const SamplingParams& p)
{
    nlohmann::json j = nlohmann::json::object();
    j["temperature"] = p.temperature;
    j["top_k"] = p.topK;
    j["top_p"] = p.topP;
    j["min_p"] = p.minP;
    j["typical_p"] = p.typicalP;
    j["repetition_penalty"] = p.repetitionPenalty;
    j["presence_penalty"] = p.presencePenalty;
    j["frequency_penalty"] = p.frequencyPenalty;
    j["no_repeat_ngram_size"] = p.noRepeatNgram;
    j["min_new_tokens"] = p.minNewTokens;
    j["max_new_tokens"] = p.maxNewTokens;
    j["stop"] = p.stop;
    j["seed"] = p.seed;
    j["greedy"] = p.greedy;
    j["order"] = samplerOrderName(p.order);
    j["num_beams"] = p.numBeams;
    j["length_penalty"] = p.lengthPenalty;
    if (p.earlyStopping == EarlyStopping::Never)
        j["early_stopping"] = "never";
    else
        j["early_stopping"] = p.earlyStopping == EarlyStopping::True;
    j["num_return_sequences"] = p.numReturnSequences;
    // --- constrained decoding (only when set, so settings files without one read as before) ---
    if (!p.grammar.empty())
        j["grammar"] = p.grammar;
    if (!p.jsonSchema.empty()) {
        try {
            j["json_schema"] = nlohmann::json::parse(p.jsonSchema);
        } catch (const nlohmann::json::parse_error&) {
            j["json_schema"] = p.jsonSchema; // kept as text; validate() names the problem
        }
    }
    return j;
}

namespace {

std::string typeName(const nlohmann::json& v) { return v.type_name(); }
// A value for a message: numbers, strings, booleans as JSON; arrays and objects by type (dump() recurses,
// and a deeply nested value would overflow the stack).
std::string brief(const nlohmann::json& v) { return v.is_structured() ? typeName(v) : v.dump(); }

double readNumber(const std::string& key, const nlohmann::json& v)
{
    if (!v.is_number())
        fail(key, "must be a number, got " + typeName(v));
    return v.get<double>();
}

int readInt(const std::string& key, const nlohmann::json& v)
{
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT32_MAX)) // 2^64 - 1 must not read as -1
        fail(key, "is out of the integer range: " + v.dump());
    if (v.is_number_integer()) {
        const int64_t x = v.get<int64_t>();
        if (x < INT32_MIN || x > INT32_MAX)
            fail(key, "is out of the integer range: " + v.dump());
        return int(x);
    }
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && d >= INT32_MIN && d <= INT32_MAX)
            return int(d);
        fail(key, "must be an integer, got " + v.dump());
    }
    fail(key, "must be an integer, got " + typeName(v));
}

} // namespace

SamplingParams samplingParamsFromJson(const nlohmann::json& j)
{
    if (!j.is_object())
        throw Error("sampling settings must be a JSON object, got " + typeName(j));
    SamplingParams p;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& key = it.key();
        const nlohmann::json& v = it.value();
        if (key == "temperature") p.temperature = readNumber(key, v);
        else if (key == "top_k") p.topK = readInt(key, v);
        else if (key == "top_p") p.topP = readNumber(key, v);
        else if (key == "min_p") p.minP = readNumber(key, v);
        else if (key == "typical_p") p.typicalP = readNumber(key, v);
        else if (key == "repetition_penalty") p.repetitionPenalty = readNumber(key, v);
        else if (key == "presence_penalty") p.presencePenalty = readNumber(key, v);
        else if (key == "frequency_penalty") p.frequencyPenalty = readNumber(key, v);
        else if (key == "no_repeat_ngram_size") p.noRepeatNgram = readInt(key, v);
        else if (key == "min_new_tokens") p.minNewTokens = readInt(key, v);
        else if (key == "max_new_tokens") p.maxNewTokens = readInt(key, v);
        else if (key == "num_beams") p.numBeams = readInt(key, v);
        else if (key == "num_return_sequences") p.numReturnSequences = readInt(key, v);
        else if (key == "length_penalty") p.lengthPenalty = readNumber(key, v);
        else if (key == "greedy") {
            if (!v.is_boolean())
                fail(key, "must be true or false, got " + typeName(v));
            p.greedy = v.get<bool>();
        } else if (key == "seed") {
            const bool ok = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
            if (!ok)
                fail(key, "must be a non-negative integer, got " + brief(v));
            p.seed = v.get<uint64_t>();
        } else if (key == "stop") {
            if (v.is_string()) {
                p.stop = {v.get<std::string>()};
            } else if (v.is_array()) {
                p.stop.clear();
                for (size_t i = 0; i < v.size(); ++i) {
                    if (!v[i].is_string())
                        fail(key, "entry " + std::to_string(i) + " must be a string, got " + typeName(v[i]));
                    p.stop.push_back(v[i].get<std::string>());
                }
            } else {
                fail(key, "must be a string or an array of strings, got " + typeName(v));
            }
        } else if (key == "order") {
            if (!v.is_string())
                fail(key, "must be one of \"huggingface\", \"vllm\", \"llama.cpp\", got " + typeName(v));
            auto o = samplerOrderFromName(v.get<std::string>());
            if (!o)
                fail(key, "must be one of \"huggingface\", \"vllm\", \"llama.cpp\", got \"" + v.get<std::string>() + "\"");
            p.order = *o;
        } else if (key == "early_stopping") {
            if (v.is_boolean())
                p.earlyStopping = v.get<bool>() ? EarlyStopping::True : EarlyStopping::False;
            else if (v.is_string() && v.get<std::string>() == "never")
                p.earlyStopping = EarlyStopping::Never;
            else
                fail(key, "must be true, false or \"never\", got " + brief(v));
        } else if (key == "grammar") { // --- constrained decoding ---
            if (!v.is_string())
                fail(key, "must be GBNF text (a string), got " + typeName(v));
            p.grammar = v.get<std::string>();
        } else if (key == "json_schema") {
            if (v.is_string())
                p.jsonSchema = v.get<std::string>();
            else if (v.is_object() || v.is_boolean())
                p.jsonSchema = v.dump();
            else
                fail(key, "must be a JSON Schema (an object), got " + typeName(v));
        } else {
            throw Error("unknown sampling setting '" + key + "'");
        }
    }
    return p;
}

void to_json(nlohmann::json& json, const SamplingParams& params) { json = toJson(params); }
void from_json(const nlohmann::json& json, SamplingParams& params) { params = samplingParamsFromJson(json); }

} // namespace logitscope
