// Constrained decoding in the sampling chain: GrammarConstraint (one lane's compiled grammar, the
// vocabulary's token bytes and the parser's state, owned by the Session and advanced with every chosen
// token) and GrammarStage, the "grammar" stage that masks every candidate whose text the grammar forbids
// here (EOS only where the text so far is complete) and remembers the mass it removed for the snapshot.
// compileGrammar() turns SamplingParams' grammar / json_schema text into a matcher.
#pragma once

#include "decoding/grammar/grammar_matcher.h"
#include "decoding/grammar/token_trie.h"
#include "decoding/sampler_stage.h"

#include <memory>
#include <string>
#include <vector>

namespace logitscope {

struct SamplingParams;
struct StageSnapshot;

struct GrammarConstraint {
    std::shared_ptr<const GrammarMatcher> matcher;
    std::shared_ptr<const GrammarVocabulary> vocab;
    GrammarState state;

    // Feeds one chosen token. False (state unchanged) when the grammar forbids it here.
    bool accept(int32_t token);
    bool allows(int32_t token) const;
    std::string position() const { return matcher->describe(state); }
};

// The grammar of `params` (GBNF from `grammar`, or converted from `json_schema`); nullptr when neither is
// set. Throws Error naming the field, line and column.
std::shared_ptr<const GrammarMatcher> compileGrammar(const SamplingParams& params);
bool hasGrammar(const SamplingParams& params);

class GrammarStage : public SamplerStage {
public:
    std::string_view name() const override { return "grammar"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return false; } // a constraint applies to greedy choice too

    // Adds what the last apply() found to that stage's snapshot: removed mass, the `top` most likely
    // forbidden candidates, the parser's position.
    void annotate(StageSnapshot& snap, int top) const;

private:
    GrammarState m_cachedState;   // the mask below belongs to this state (previews rerun the same step)
    const GrammarMatcher* m_cachedMatcher = nullptr;
    std::vector<uint8_t> m_allowed;
    float m_removedMass = 0;
    std::vector<Candidate> m_forbidden; // best first, prob before the stage
    std::string m_position;
};

} // namespace logitscope
