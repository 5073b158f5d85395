// SamplingParams: the plain value that configures one lane's decoding — sampler settings, stop rules,
// length limits and beam-search settings — with range checking (validate) and JSON conversion.
// It does no sampling itself (see sampler_chain.h, beam_search.h). JSON keys are Hugging Face's
// generation_config names where one exists (top_k, repetition_penalty, no_repeat_ngram_size, ...).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace logitscope {

// Which engine's stage order the sampler chain follows (see sampler_chain.h for the exact lists).
enum class SamplerOrder {
    HuggingFace, // transformers' _get_logits_processor order
    Vllm,        // vLLM (V1) sampler order
    LlamaCpp,    // llama.cpp's default common_sampler chain, temperature last
};

// Hugging Face's `early_stopping`: True, False or "never".
enum class EarlyStopping { True, False, Never };

// One logit_bias entry (llama.cpp's [id, bias] or ["text", bias]): a token id, or a text whose every token
// gets the bias. Also reachable as SamplingParams::LogitBias.
struct LogitBias {
    int32_t id = -1;  // a token id (>= 0), or -1 when `text` names the tokens
    std::string text; // tokenized without BOS; every token of it gets the bias
    double bias = 0;  // added to the logit; -inf bans the token(s)
    bool operator==(const LogitBias&) const = default;
};

struct SamplingParams {
    // Sampling stages (defaults are "off": each stage at its default is left out of the chain).
    double temperature = 1.0;       // 0 means greedy
    int topK = 0;                   // 0 = off
    double topP = 1.0;              // (0, 1]
    double minP = 0.0;              // [0, 1]
    double typicalP = 1.0;          // (0, 1]
    double repetitionPenalty = 1.0; // HF multiplicative penalty over prompt + output ids; > 0
    double presencePenalty = 0.0;   // OpenAI/vLLM additive penalty over generated ids; [-2, 2]
    double frequencyPenalty = 0.0;  // OpenAI/vLLM additive penalty per generated occurrence; [-2, 2]
    int noRepeatNgram = 0;          // HF no_repeat_ngram_size; 0 = off
    int minNewTokens = 0;           // EOS is masked until this many tokens were generated
    int maxNewTokens = 64;
    std::vector<std::string> stop;  // stop strings, matched on the decoded text
    uint64_t seed = 0;
    bool greedy = false;            // argmax after the logits processors (as HF do_sample=False)
    SamplerOrder order = SamplerOrder::HuggingFace;

    // --- constrained decoding (grammar stage, decoding/grammar/) ---
    // GBNF text (llama.cpp's `grammar`), or a JSON Schema as JSON text (llama.cpp's `json_schema`); at most
    // one. The "grammar" stage runs first in every order and masks what the grammar forbids.
    std::string grammar;
    std::string jsonSchema;
    // --- end constrained decoding ---

    // --- llama.cpp samplers (decoding/sampler_stages_llamacpp.h; JSON keys are llama.cpp's /completion names) ---
    // Every one is off at its default. Where each sits in each order: sampler_chain.h.
    using LogitBias = logitscope::LogitBias;
    std::vector<LogitBias> logitBias;                                      // logit_bias
    double dryMultiplier = 0.0;                                            // dry_multiplier; 0 = off
    double dryBase = 1.75;                                                 // dry_base; >= 1
    int dryAllowedLength = 2;                                              // dry_allowed_length
    int dryPenaltyLastN = -1;                                              // dry_penalty_last_n; -1 = all, 0 = off
    std::vector<std::string> drySequenceBreakers = {"\n", ":", "\"", "*"}; // dry_sequence_breakers
    double xtcProbability = 0.0;                                           // xtc_probability; 0 = off
    double xtcThreshold = 0.1;                                             // xtc_threshold; > 0.5 does nothing
    double topNSigma = -1.0;                                               // top_n_sigma; <= 0 off
    int mirostat = 0;                                                      // mirostat: 0 off, 1 or 2
    double mirostatTau = 5.0;                                              // mirostat_tau (target surprise, bits)
    double mirostatEta = 0.1;                                              // mirostat_eta (learning rate)
    double dynatempRange = 0.0;                                            // dynatemp_range; 0 = plain temperature
    double dynatempExponent = 1.0;                                         // dynatemp_exponent
    // --- end llama.cpp samplers ---

    // Beam search (numBeams > 1): HF semantics, sampling stages are not used.
    int numBeams = 1;               // [1, 64]
    double lengthPenalty = 1.0;
    EarlyStopping earlyStopping = EarlyStopping::False;
    int numReturnSequences = 1;     // [1, numBeams]

    // True when the sampler chooses by argmax (greedy flag or temperature 0).
    bool isGreedy() const { return greedy || temperature == 0.0; }

    bool operator==(const SamplingParams&) const = default;
};

// Throws Error naming the setting (its JSON key, e.g. "top_p") and the problem when a value is out of
// range or NaN, or when maxNewTokens does not fit `contextRemaining` tokens (pass a negative value
// when the context is not known yet).
void validate(const SamplingParams& params, int contextRemaining);

// "huggingface", "vllm", "llama.cpp" and back (nullopt for an unknown name).
const char* samplerOrderName(SamplerOrder order);
std::optional<SamplerOrder> samplerOrderFromName(std::string_view name);

// JSON conversion. Every key is optional on input (missing keys keep their defaults); unknown keys and
// values of the wrong type throw Error naming the key. Values are not range-checked here: call validate().
nlohmann::json toJson(const SamplingParams& params);
SamplingParams samplingParamsFromJson(const nlohmann::json& json);
void to_json(nlohmann::json& json, const SamplingParams& params);
void from_json(const nlohmann::json& json, SamplingParams& params);

} // namespace logitscope
