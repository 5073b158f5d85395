// SamplingParams validation and JSON conversion (see sampling_params.h).
#include "decoding/sampling_params.h"

#include "common/error.h"
#include "decoding/grammar/grammar_stage.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
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
    // --- llama.cpp samplers ---
    for (size_t i = 0; i < p.logitBias.size(); ++i) {
        const LogitBias& b = p.logitBias[i];
        const std::string entry = "entry " + std::to_string(i);
        if (b.id < 0 && b.text.empty())
            fail("logit_bias", entry + " names neither a token id (>= 0) nor a text");
        if (b.id >= 0 && !b.text.empty())
            fail("logit_bias", entry + " names both a token id and a text; give one");
        if (std::isnan(b.bias) || b.bias == std::numeric_limits<double>::infinity())
            fail("logit_bias", entry + " has bias " + formatNumber(b.bias) + "; it must be a finite number or -inf (ban)");
    }
    requireFinite("dry_multiplier", p.dryMultiplier);
    if (p.dryMultiplier < 0)
        fail("dry_multiplier", "must be >= 0 (0 turns DRY off), got " + formatNumber(p.dryMultiplier));
    requireFinite("dry_base", p.dryBase);
    if (p.dryBase < 1)
        fail("dry_base", "must be >= 1, got " + formatNumber(p.dryBase));
    if (p.dryAllowedLength < 0)
        fail("dry_allowed_length", "must be >= 0, got " + std::to_string(p.dryAllowedLength));
    if (p.dryPenaltyLastN < -1)
        fail("dry_penalty_last_n", "must be >= -1 (-1 = the whole context, 0 = off), got " + std::to_string(p.dryPenaltyLastN));
    for (size_t i = 0; i < p.drySequenceBreakers.size(); ++i)
        if (p.drySequenceBreakers[i].empty())
            fail("dry_sequence_breakers", "entry " + std::to_string(i) + " is an empty string");
    requireRange("xtc_probability", p.xtcProbability, 0.0, false, 1.0, false);
    requireRange("xtc_threshold", p.xtcThreshold, 0.0, false, 1.0, false);
    requireFinite("top_n_sigma", p.topNSigma);
    if (p.mirostat < 0 || p.mirostat > 2)
        fail("mirostat", "must be 0 (off), 1 or 2, got " + std::to_string(p.mirostat));
    if (p.mirostat != 0 && p.order != SamplerOrder::LlamaCpp)
        fail("mirostat", std::string("needs order \"llama.cpp\" (it replaces the truncations and the final draw, as "
                                     "llama.cpp's chain does), got order \"")
                             + samplerOrderName(p.order) + "\"");
    requireFinite("mirostat_tau", p.mirostatTau);
    if (p.mirostatTau < 0)
        fail("mirostat_tau", "must be >= 0, got " + formatNumber(p.mirostatTau));
    requireFinite("mirostat_eta", p.mirostatEta);
    if (!(p.mirostatEta > 0))
        fail("mirostat_eta", "must be > 0, got " + formatNumber(p.mirostatEta));
    requireFinite("dynatemp_range", p.dynatempRange);
    if (p.dynatempRange < 0)
        fail("dynatemp_range", "must be >= 0 (0 = plain temperature), got " + formatNumber(p.dynatempRange));
    requireFinite("dynatemp_exponent", p.dynatempExponent);
    if (p.dynatempExponent < 0)
        fail("dynatemp_exponent", "must be >= 0, got " + formatNumber(p.dynatempExponent));
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
    // --- llama.cpp samplers (each key only when it differs from its default, so older readers and
    // settings files see nothing new) ---
    const SamplingParams d;
    if (!p.logitBias.empty()) {
        nlohmann::json list = nlohmann::json::array();
        for (const LogitBias& b : p.logitBias) {
            nlohmann::json key = b.id >= 0 ? nlohmann::json(b.id) : nlohmann::json(b.text);
            nlohmann::json bias = b.bias == -std::numeric_limits<double>::infinity() ? nlohmann::json(false)
                                                                                      : nlohmann::json(b.bias);
            list.push_back(nlohmann::json::array({key, bias}));
        }
        j["logit_bias"] = list;
    }
    auto put = [&j](const char* key, const auto& value, const auto& def) {
        if (!(value == def))
            j[key] = value;
    };
    put("dry_multiplier", p.dryMultiplier, d.dryMultiplier);
    put("dry_base", p.dryBase, d.dryBase);
    put("dry_allowed_length", p.dryAllowedLength, d.dryAllowedLength);
    put("dry_penalty_last_n", p.dryPenaltyLastN, d.dryPenaltyLastN);
    put("dry_sequence_breakers", p.drySequenceBreakers, d.drySequenceBreakers);
    put("xtc_probability", p.xtcProbability, d.xtcProbability);
    put("xtc_threshold", p.xtcThreshold, d.xtcThreshold);
    put("top_n_sigma", p.topNSigma, d.topNSigma);
    put("mirostat", p.mirostat, d.mirostat);
    put("mirostat_tau", p.mirostatTau, d.mirostatTau);
    put("mirostat_eta", p.mirostatEta, d.mirostatEta);
    put("dynatemp_range", p.dynatempRange, d.dynatempRange);
    put("dynatemp_exponent", p.dynatempExponent, d.dynatempExponent);
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

// llama.cpp's form: [[id, bias], ["text", bias], ...] where bias is a number or false (= -inf, a ban).
std::vector<LogitBias> readLogitBias(const std::string& key, const nlohmann::json& v)
{
    if (!v.is_array())
        fail(key, "must be an array of [id or \"text\", bias] pairs, got " + typeName(v));
    std::vector<LogitBias> out;
    for (size_t i = 0; i < v.size(); ++i) {
        const nlohmann::json& e = v[i];
        const std::string entry = "entry " + std::to_string(i);
        if (!e.is_array() || e.size() != 2)
            fail(key, entry + " must be a pair [id or \"text\", bias], got " + brief(e));
        LogitBias b;
        if (e[0].is_string()) {
            b.text = e[0].get<std::string>();
        } else if (e[0].is_number_integer()) {
            b.id = readInt(key, e[0]);
            if (b.id < 0)
                fail(key, entry + " has token id " + e[0].dump() + "; ids are >= 0");
        } else {
            fail(key, entry + " must start with a token id or a text, got " + typeName(e[0]));
        }
        if (e[1].is_number())
            b.bias = e[1].get<double>();
        else if (e[1].is_boolean() && !e[1].get<bool>())
            b.bias = -std::numeric_limits<double>::infinity();
        else
            fail(key, entry + " must end with a number or false (a ban), got " + brief(e[1]));
        out.push_back(std::move(b));
    }
    return out;
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
        } else if (key == "logit_bias") { // --- llama.cpp samplers ---
            p.logitBias = readLogitBias(key, v);
        } else if (key == "dry_multiplier") p.dryMultiplier = readNumber(key, v);
        else if (key == "dry_base") p.dryBase = readNumber(key, v);
        else if (key == "dry_allowed_length") p.dryAllowedLength = readInt(key, v);
        else if (key == "dry_penalty_last_n") p.dryPenaltyLastN = readInt(key, v);
        else if (key == "dry_sequence_breakers") {
            if (!v.is_array())
                fail(key, "must be an array of strings, got " + typeName(v));
            p.drySequenceBreakers.clear();
            for (size_t i = 0; i < v.size(); ++i) {
                if (!v[i].is_string())
                    fail(key, "entry " + std::to_string(i) + " must be a string, got " + typeName(v[i]));
                p.drySequenceBreakers.push_back(v[i].get<std::string>());
            }
        } else if (key == "xtc_probability") p.xtcProbability = readNumber(key, v);
        else if (key == "xtc_threshold") p.xtcThreshold = readNumber(key, v);
        else if (key == "top_n_sigma") p.topNSigma = readNumber(key, v);
        else if (key == "mirostat") p.mirostat = readInt(key, v);
        else if (key == "mirostat_tau") p.mirostatTau = readNumber(key, v);
        else if (key == "mirostat_eta") p.mirostatEta = readNumber(key, v);
        else if (key == "dynatemp_range") p.dynatempRange = readNumber(key, v);
        else if (key == "dynatemp_exponent") p.dynatempExponent = readNumber(key, v);
        else {
            throw Error("unknown sampling setting '" + key + "'");
        }
    }
    return p;
}

void to_json(nlohmann::json& json, const SamplingParams& params) { json = toJson(params); }
void from_json(const nlohmann::json& json, SamplingParams& params) { params = samplingParamsFromJson(json); }

} // namespace logitscope
