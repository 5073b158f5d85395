// Beam search against a scripted BeamHost whose next-token probabilities are hand-made tables, so every
// score below can be worked out by hand (done in the comments). Checks the tree's fates, the three
// early_stopping modes, length-penalty scoring, EOS and max-length finishing, num_return_sequences order,
// processors applied to log-probabilities, and the host's sequences being forked and released correctly.
#include "common/error.h"
#include "decoding/beam_search.h"

#include <QtTest>

#include <cmath>
#include <map>
#include <stdexcept>

using namespace logitscope;

namespace {

using Table = std::map<std::vector<int32_t>, std::vector<double>>; // generated ids -> next-token probs

// A deterministic "model": logits = log(table[generated ids]) (uniform for prefixes not in the table).
class ScriptedHost : public BeamHost {
public:
    ScriptedHost(Table table, int vocab) : m_table(std::move(table)), m_vocab(vocab) { m_seqs[0] = {}; }

    int fork(int seq) override
    {
        const int id = m_next++;
        m_seqs[id] = m_seqs.at(seq);
        ++forks;
        return id;
    }
    void release(int seq) override
    {
        if (seq == 0)
            throw std::logic_error("the root must not be released");
        if (!m_seqs.erase(seq))
            throw std::logic_error("released twice");
        ++releases;
    }
    std::vector<std::vector<float>> decode(const std::vector<std::pair<int, int32_t>>& seqTokens) override
    {
        if (failAtDecode >= 0 && decodes == failAtDecode)
            throw Error("scripted failure");
        ++decodes;
        std::vector<std::vector<float>> out;
        for (const auto& [seq, token] : seqTokens) {
            if (seq == 0)
                throw std::logic_error("the root must not be appended to");
            m_seqs.at(seq).push_back(token);
            out.push_back(logitsFor(m_seqs.at(seq)));
        }
        return out;
    }
    std::vector<float> logitsFor(const std::vector<int32_t>& ids) const
    {
        auto it = m_table.find(ids);
        std::vector<float> logits(size_t(m_vocab), float(std::log(1.0 / m_vocab)));
        if (it != m_table.end())
            for (int i = 0; i < m_vocab; ++i)
                logits[size_t(i)] = float(std::log(it->second[size_t(i)]));
        return logits;
    }
    int liveSequences() const { return int(m_seqs.size()); }
    const std::vector<int32_t>& root() const { return m_seqs.at(0); }

    int forks = 0, releases = 0, decodes = 0, failAtDecode = -1;

private:
    Table m_table;
    int m_vocab;
    std::map<int, std::vector<int32_t>> m_seqs;
    int m_next = 1;
};

double L(double p) { return std::log(p); }

// Tokens A B C D = 0 1 2 3, EOS = 4.
constexpr int32_t A = 0, B = 1, C = 2, D = 3, E = 4;
Table tableOne()
{
    return {
        {{}, {0.5, 0.3, 0.1, 0.05, 0.05}},
        {{A}, {0.1, 0.1, 0.1, 0.1, 0.6}},
        {{B}, {0.7, 0.1, 0.1, 0.05, 0.05}},
        {{B, A}, {0.2, 0.1, 0.1, 0.1, 0.5}},
        {{A, A}, {0.2, 0.2, 0.2, 0.2, 0.2}},
    };
}

SamplingParams beamParams(int beams, double lp, EarlyStopping early, int maxNew, int numReturn)
{
    SamplingParams p;
    p.numBeams = beams;
    p.lengthPenalty = lp;
    p.earlyStopping = early;
    p.maxNewTokens = maxNew;
    p.numReturnSequences = numReturn;
    return p;
}

BeamResult run(ScriptedHost& host, const SamplingParams& p, const std::vector<int32_t>& eos,
               const std::vector<int32_t>& prompt = {})
{
    const std::vector<float> rootLogits = host.logitsFor({});
    return runBeamSearch(host, 0, rootLogits, prompt, p, eos);
}

void expectNode(const BeamTree& tree, int index, int parent, int32_t token, int step, BeamFate fate, double cumulative)
{
    const BeamNode& n = tree.nodes.at(size_t(index));
    QCOMPARE(n.parent, parent);
    QCOMPARE(n.token, token);
    QCOMPARE(n.step, step);
    QCOMPARE(n.fate, fate);
    QVERIFY2(std::abs(n.cumulative - cumulative) < 1e-5,
             qPrintable(QString("node %1 cumulative %2, expected %3").arg(index).arg(n.cumulative).arg(cumulative)));
}

} // namespace

class TstBeamSearch : public QObject {
    Q_OBJECT
private slots:
    void twoBeamsEarlyStoppingTrue()
    {
        // K = max(2, 1 + 1 EOS) * 2 = 4 candidates per step.
        // Step 0 (root only): A ln.5 = -0.6931, B ln.3 = -1.2040, C ln.1 = -2.3026, D ln.05 = -2.9957
        //   (EOS ties D at ln.05 but the lower id wins the 4th place). Running: A, B. C, D pruned.
        // Step 1: A+EOS = -0.6931 + ln.6 = -1.2040 (rank 0, finishes: -1.2040 / 2 = -0.6020),
        //   B+A = -1.2040 + ln.7 = -1.5607 (kept), A+A = A+B = -0.6931 + ln.1 = -2.9957 (A kept, B pruned).
        // Step 2: BA+EOS = -1.5607 + ln.5 = -2.2538 (finishes: / 3 = -0.7513), BA+A = -1.5607 + ln.2 = -3.1701,
        //   BA+B = BA+C = -1.5607 + ln.1 = -3.8633; AA+x = -2.9957 + ln.2 = -4.6051 (outside the top 4).
        //   Two finished hypotheses = num_beams and early_stopping=True: done.
        ScriptedHost host(tableOne(), 5);
        const BeamResult r = run(host, beamParams(2, 1.0, EarlyStopping::True, 10, 2), {E});
        const BeamTree& t = r.tree;
        QCOMPARE(t.steps, 3);
        QCOMPARE(t.nodes.size(), size_t(1 + 4 * 3));
        expectNode(t, 1, 0, A, 0, BeamFate::Kept, L(0.5));
        expectNode(t, 2, 0, B, 0, BeamFate::Kept, L(0.3));
        expectNode(t, 3, 0, C, 0, BeamFate::Pruned, L(0.1));
        expectNode(t, 4, 0, D, 0, BeamFate::Pruned, L(0.05));
        expectNode(t, 5, 1, E, 1, BeamFate::Finished, L(0.5) + L(0.6));
        expectNode(t, 6, 2, A, 1, BeamFate::Kept, L(0.3) + L(0.7));
        expectNode(t, 7, 1, A, 1, BeamFate::Kept, L(0.5) + L(0.1));
        expectNode(t, 8, 1, B, 1, BeamFate::Pruned, L(0.5) + L(0.1));
        expectNode(t, 9, 6, E, 2, BeamFate::Finished, L(0.3) + L(0.7) + L(0.5));
        expectNode(t, 10, 6, A, 2, BeamFate::Kept, L(0.3) + L(0.7) + L(0.2));
        expectNode(t, 11, 6, B, 2, BeamFate::Kept, L(0.3) + L(0.7) + L(0.1));
        expectNode(t, 12, 6, C, 2, BeamFate::Pruned, L(0.3) + L(0.7) + L(0.1));
        QCOMPARE(t.nodes[5].finish, FinishReason::Eos);
        QVERIFY(std::abs(t.nodes[5].logprob - L(0.6)) < 1e-5);
        QCOMPARE(t.nodes[0].parent, -1);

        QCOMPARE(r.hypotheses.size(), size_t(2));
        QCOMPARE(r.hypotheses[0].ids, (std::vector<int32_t>{A, E}));
        QVERIFY(std::abs(r.hypotheses[0].score - (L(0.5) + L(0.6)) / 2) < 1e-5);     // -0.6020
        QCOMPARE(r.hypotheses[1].ids, (std::vector<int32_t>{B, A, E}));
        QVERIFY(std::abs(r.hypotheses[1].score - (L(0.3) + L(0.7) + L(0.5)) / 3) < 1e-5); // -0.7513
        QCOMPARE(r.hypotheses[0].node, 5);
        QCOMPARE(t.nodes[5].resultRank, 0);
        QCOMPARE(t.nodes[9].resultRank, 1);
        QCOMPARE(r.hypotheses[1].finish, FinishReason::Eos);

        // Host bookkeeping: step 0's beams fork the root (2 forks); step 1's children take over their
        // parents' sequences; everything forked is released; the root is untouched.
        QCOMPARE(host.forks, 2);
        QCOMPARE(host.releases, 2);
        QCOMPARE(host.decodes, 2);
        QCOMPARE(host.liveSequences(), 1);
        QVERIFY(host.root().empty());
    }

    void numReturnSequencesBestFirst()
    {
        ScriptedHost host(tableOne(), 5);
        const BeamResult r = run(host, beamParams(2, 1.0, EarlyStopping::True, 10, 1), {E});
        QCOMPARE(r.hypotheses.size(), size_t(1));
        QCOMPARE(r.hypotheses[0].ids, (std::vector<int32_t>{A, E}));
        QCOMPARE(r.tree.nodes[9].resultRank, -1);
    }

    void earlyStoppingModes()
    {
        // One beam, tokens 0, 1 and EOS = 2; K = 2.
        // Step 0: EOS ln.5 = -0.6931 (rank 0, finishes at length 1: -0.6931), token 0 ln.4 = -0.9163 runs.
        //   True: all (one) hypotheses finished -> stop.  False: heuristic with the current length 1:
        //   -0.9163 / 1 > -0.6931 is false -> stop.  "never" with length_penalty 1 > 0 uses max_new_tokens 4:
        //   -0.9163 / 4 = -0.2291 > -0.6931 -> go on.
        // Step 1 (never): 0 -> token 0 ln.9: -1.0217 runs, 1 and EOS at ln.05 (token 1 wins the tie) pruned.
        //   -1.0217 / 4 = -0.2554 > -0.6931 -> go on.
        // Step 2: 00 -> EOS ln.9: -1.1270 finishes at length 3: -0.3757, better than -0.6931, replaces it.
        //   Running 000 = -1.0217 + ln.05 = -4.0174; -4.0174 / 4 = -1.0044 > -0.3757 is false -> stop.
        const Table table = {
            {{}, {0.4, 0.1, 0.5}},
            {{0}, {0.9, 0.05, 0.05}},
            {{0, 0}, {0.05, 0.05, 0.9}},
        };
        for (EarlyStopping mode : {EarlyStopping::True, EarlyStopping::False}) {
            ScriptedHost host(table, 3);
            const BeamResult r = run(host, beamParams(1, 1.0, mode, 4, 1), {2});
            QCOMPARE(r.tree.steps, 1);
            QCOMPARE(r.hypotheses.size(), size_t(1));
            QCOMPARE(r.hypotheses[0].ids, (std::vector<int32_t>{2}));
            QVERIFY(std::abs(r.hypotheses[0].score - L(0.5)) < 1e-5);
            QCOMPARE(host.liveSequences(), 1);
        }
        ScriptedHost host(table, 3);
        const BeamResult r = run(host, beamParams(1, 1.0, EarlyStopping::Never, 4, 1), {2});
        QCOMPARE(r.tree.steps, 3);
        QCOMPARE(r.hypotheses[0].ids, (std::vector<int32_t>{0, 0, 2}));
        QVERIFY(std::abs(r.hypotheses[0].score - (L(0.4) + L(0.9) + L(0.9)) / 3) < 1e-5); // -0.3757
        QVERIFY(std::abs(r.hypotheses[0].cumulative - (L(0.4) + L(0.9) + L(0.9))) < 1e-5);
        // The first hypothesis (EOS at step 0) finished but was pushed out of the one slot.
        QCOMPARE(r.tree.nodes[1].token, 2);
        QCOMPARE(r.tree.nodes[1].fate, BeamFate::Finished);
        QCOMPARE(r.tree.nodes[1].resultRank, -1);
        QCOMPARE(host.liveSequences(), 1);
        QCOMPARE(host.forks, host.releases);
    }

    void maxLengthAndLengthPenalty()
    {
        // max_new_tokens 2 with the first table and length_penalty 0.5: step 1 reaches the limit, so the
        // top num_beams candidates all finish (rank 0 by EOS, rank 1 by length), scored / 2^0.5:
        //   A+EOS: (ln.5 + ln.6) / sqrt 2 = -0.8514;  B+A: (ln.3 + ln.7) / sqrt 2 = -1.1036.
        ScriptedHost host(tableOne(), 5);
        const BeamResult r = run(host, beamParams(2, 0.5, EarlyStopping::False, 2, 2), {E});
        QCOMPARE(r.tree.steps, 2);
        QCOMPARE(r.hypotheses.size(), size_t(2));
        QCOMPARE(r.hypotheses[0].ids, (std::vector<int32_t>{A, E}));
        QCOMPARE(r.hypotheses[0].finish, FinishReason::Eos);
        QVERIFY(std::abs(r.hypotheses[0].score - (L(0.5) + L(0.6)) / std::sqrt(2.0)) < 1e-5);
        QCOMPARE(r.hypotheses[1].ids, (std::vector<int32_t>{B, A}));
        QCOMPARE(r.hypotheses[1].finish, FinishReason::Length);
        QVERIFY(std::abs(r.hypotheses[1].score - (L(0.3) + L(0.7)) / std::sqrt(2.0)) < 1e-5);
        QCOMPARE(r.tree.nodes[7].fate, BeamFate::Pruned); // A+A: rank 2, beyond num_beams
        QCOMPARE(r.tree.nodes[8].fate, BeamFate::Pruned);
        QCOMPARE(host.decodes, 1);
        QCOMPARE(host.liveSequences(), 1);
        // Length penalty 0 turns the scores into plain sums: B+A (-1.5607) and A+EOS (-1.2040).
        ScriptedHost flat(tableOne(), 5);
        const BeamResult f = run(flat, beamParams(2, 0.0, EarlyStopping::False, 2, 2), {E});
        QVERIFY(std::abs(f.hypotheses[0].score - (L(0.5) + L(0.6))) < 1e-5);
        QVERIFY(std::abs(f.hypotheses[1].score - (L(0.3) + L(0.7))) < 1e-5);
    }

    void processorsOnLogprobs()
    {
        // HF applies the logits processors to log_softmax(logits): repetition 2 on prompt id 0 turns
        // ln.5 = -0.6931 into -1.3863, so token 1 (ln.4 = -0.9163) leads. One step (max_new_tokens 1).
        ScriptedHost host({{{}, {0.5, 0.4, 0.1}}}, 3);
        SamplingParams p = beamParams(1, 1.0, EarlyStopping::False, 1, 1);
        p.repetitionPenalty = 2.0;
        p.temperature = 0.1; // a warper: ignored by beam search
        const BeamResult r = run(host, p, {2}, {0});
        QCOMPARE(r.hypotheses[0].ids, (std::vector<int32_t>{1}));
        QVERIFY(std::abs(r.hypotheses[0].score - L(0.4)) < 1e-5);
        QCOMPARE(r.tree.nodes[2].token, 0);
        QVERIFY(std::abs(r.tree.nodes[2].logprob - 2 * L(0.5)) < 1e-5);
        QCOMPARE(r.tree.nodes[2].fate, BeamFate::Pruned);
        // min_new_tokens keeps EOS out until enough tokens exist: with 1 required, step 0 cannot end.
        ScriptedHost eosFirst({{{}, {0.2, 0.1, 0.7}}}, 3);
        SamplingParams q = beamParams(1, 1.0, EarlyStopping::False, 1, 1);
        q.minNewTokens = 1;
        const BeamResult m = run(eosFirst, q, {2});
        QCOMPARE(m.hypotheses[0].ids, (std::vector<int32_t>{0}));
        QCOMPARE(m.hypotheses[0].finish, FinishReason::Length);
    }

    void hostFailureReleasesSequences()
    {
        ScriptedHost host(tableOne(), 5);
        host.failAtDecode = 1;
        bool threw = false;
        try {
            (void)run(host, beamParams(2, 1.0, EarlyStopping::True, 10, 2), {E});
        } catch (const Error&) {
            threw = true;
        }
        QVERIFY(threw);
        QCOMPARE(host.liveSequences(), 1);
    }

    void rejectsBadSettings()
    {
        ScriptedHost host(tableOne(), 5);
        bool threw = false;
        try {
            (void)run(host, beamParams(2, 1.0, EarlyStopping::True, 10, 3), {E});
        } catch (const Error& e) {
            threw = QString(e.what()).contains("num_return_sequences");
        }
        QVERIFY(threw);
    }

    void treeIsAPlainValue()
    {
        ScriptedHost host(tableOne(), 5);
        const BeamResult r = run(host, beamParams(2, 1.0, EarlyStopping::True, 10, 2), {E});
        BeamTree copy = r.tree;
        copy.nodes[1].token = 99;
        QCOMPARE(r.tree.nodes[1].token, A);
        QCOMPARE(std::string(beamFateName(BeamFate::Finished)), std::string("finished"));
    }
};

QTEST_APPLESS_MAIN(TstBeamSearch)
#include "tst_beam_search.moc"
