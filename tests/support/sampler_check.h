// What the sampler tests share: logits from hand-made probabilities, and the check of a chain's processed
// distribution against expected probabilities worked out by hand (0 = masked), to 1e-5. Qt Test macros:
// call expectProbs from a test function.
#pragma once

#include "decoding/sampler_chain.h"

#include <QtTest>

#include <cmath>
#include <limits>
#include <vector>

namespace logitscope::test {

// log p for each probability (-inf for 0): a distribution as logits.
inline std::vector<float> logsOf(const std::vector<double>& p)
{
    std::vector<float> out;
    for (double v : p)
        out.push_back(v > 0 ? float(std::log(v)) : -std::numeric_limits<float>::infinity());
    return out;
}

inline void expectProbs(const SamplerChain& chain, const std::vector<float>& logits, const SamplingContext& ctx,
                        const std::vector<double>& expected)
{
    const std::vector<float> lp = chain.processedLogprobs(logits, ctx);
    QCOMPARE(lp.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        if (expected[i] == 0) {
            QVERIFY2(lp[i] == -std::numeric_limits<float>::infinity(),
                     qPrintable(QString("id %1 should be masked, logprob %2").arg(i).arg(lp[i])));
        } else {
            QVERIFY2(std::abs(std::exp(double(lp[i])) - expected[i]) < 1e-5,
                     qPrintable(QString("id %1: prob %2, expected %3").arg(i).arg(std::exp(double(lp[i]))).arg(expected[i])));
        }
    }
}

} // namespace logitscope::test
