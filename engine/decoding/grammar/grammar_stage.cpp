// GrammarStage / GrammarConstraint (see grammar_stage.h).
#include "decoding/grammar/grammar_stage.h"

#include "common/error.h"
#include "decoding/grammar/gbnf_parser.h"
#include "decoding/grammar/json_schema_grammar.h"
#include "decoding/sampler_chain.h"
#include "decoding/sampling_params.h"

#include <algorithm>
#include <cmath>

namespace logitscope {

namespace {
constexpr int kForbiddenKept = 64; // forbidden candidates remembered per step (snapshots show the first N)
}

bool GrammarConstraint::allows(int32_t token) const
{
    if (token < 0 || token >= vocab->size())
        return false;
    if (vocab->isEos[size_t(token)])
        return matcher->accepting(state);
    const std::string& text = vocab->bytes[size_t(token)];
    if (text.empty())
        return false;
    GrammarState s = state;
    return matcher->advance(s, text);
}

bool GrammarConstraint::accept(int32_t token)
{
    if (!allows(token))
        return false;
    if (!vocab->isEos[size_t(token)])
        matcher->advance(state, vocab->bytes[size_t(token)]);
    return true;
}

bool hasGrammar(const SamplingParams& p) { return !p.grammar.empty() || !p.jsonSchema.empty(); }

std::shared_ptr<const GrammarMatcher> compileGrammar(const SamplingParams& p)
{
    if (!p.grammar.empty() && !p.jsonSchema.empty())
        throw Error("sampling setting 'grammar' and 'json_schema' are both set; give one of them");
    if (!p.grammar.empty())
        return std::make_shared<GrammarMatcher>(parseGbnf(p.grammar, "grammar"));
    if (!p.jsonSchema.empty())
        return std::make_shared<GrammarMatcher>(
            parseGbnf(jsonSchemaToGbnf(p.jsonSchema, "json_schema"), "json_schema (converted grammar)"));
    return nullptr;
}

void GrammarStage::apply(CandidateSet& set, const SamplingContext& ctx)
{
    if (!ctx.grammar)
        throw Error("grammar: the chain has a grammar stage but was given no grammar state");
    const GrammarConstraint& g = *ctx.grammar;
    if (m_cachedMatcher != g.matcher.get() || !(m_cachedState == g.state) || m_allowed.size() != size_t(g.vocab->size())) {
        m_allowed = g.vocab->allowed(*g.matcher, g.state);
        m_cachedState = g.state;
        m_cachedMatcher = g.matcher.get();
    }
    m_position = g.position();

    // What the mask takes away, in the distribution the stage received.
    const double logZ = set.survivors() > 0 ? set.stats().logPartition() : 0.0;
    double removed = 0;
    m_forbidden.clear();
    auto isAllowed = [&](int32_t id) { return id >= 0 && size_t(id) < m_allowed.size() && m_allowed[size_t(id)]; };
    for (const Candidate& c : set.live()) {
        if (isAllowed(c.id))
            continue;
        const float p = float(std::exp(double(c.logit) - logZ));
        removed += p;
        m_forbidden.push_back(Candidate{c.id, c.logit, p});
    }
    const auto better = [](const Candidate& a, const Candidate& b) {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    };
    if (int(m_forbidden.size()) > kForbiddenKept) {
        std::partial_sort(m_forbidden.begin(), m_forbidden.begin() + kForbiddenKept, m_forbidden.end(), better);
        m_forbidden.resize(kForbiddenKept);
    } else {
        std::sort(m_forbidden.begin(), m_forbidden.end(), better);
    }
    m_removedMass = float(std::min(1.0, removed));
    set.keepIf([&](const Candidate& c) { return isAllowed(c.id); });
}

void GrammarStage::annotate(StageSnapshot& snap, int top) const
{
    snap.removedMass = m_removedMass;
    snap.forbidden.assign(m_forbidden.begin(), m_forbidden.begin() + std::min<long>(long(m_forbidden.size()), std::max(0, top)));
    snap.grammarPosition = m_position;
}

} // namespace logitscope
