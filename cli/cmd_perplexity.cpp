// perplexity: how well the model predicts a text, token by token, in sliding windows (Hugging Face's
// method for fixed-length models; decoding/perplexity.h). With --requantize or --kv-type it measures what
// a precision costs, the number llama.cpp's perplexity tool reports for quantized files.
#include "commands.h"

#include "common/error.h"
#include "common/read_file.h"
#include "decoding/perplexity.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace logitscope::cli {

int cmdPerplexity(const Args& args)
{
    using Json = nlohmann::ordered_json;
    const bool json = args.flag("json");
    if (args.has("file") == args.has("text"))
        throw Error("perplexity: pass exactly one of --file PATH and --text S");
    const std::string text = args.has("file") ? readFile(args.str("file")) : args.str("text");
    auto model = loadModel(args);
    auto backend = openBackend(args, model);
    const int context = model->config().contextLength;
    const int window = args.integer("window", std::min(context - 1, 1024));
    const int stride = args.integer("stride", std::max(1, window / 2));
    if (window < 2 || window >= context)
        throw Error("--window: " + std::to_string(window) + "; expected 2.." + std::to_string(context - 1) +
                    " (one position of the context length " + std::to_string(context) + " stays free)");
    if (stride < 1 || stride > window)
        throw Error("--stride: " + std::to_string(stride) + "; expected 1..the window (" + std::to_string(window) + ")");
    args.rejectUnknown();

    Session session(model, std::move(backend));
    const std::vector<int32_t> ids = session.tokenize(text);
    if (ids.size() < 2)
        throw Error(std::string(args.has("file") ? "--file" : "--text") + ": the text is " + std::to_string(ids.size()) +
                    " token(s); perplexity needs at least 2");
    const int n = int(ids.size());
    const int windows = 1 + (n > window ? (n - window + stride - 1) / stride : 0);
    const auto t0 = std::chrono::steady_clock::now();
    const PerplexityResult r = evaluatePerplexity(session, ids, window, stride, [&](const PerplexityResult& so_far) {
        if (!json)
            std::fprintf(stderr, "\r[%d/%d] perplexity %.4f", so_far.windows, windows, so_far.perplexity());
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    if (json) {
        Json out;
        out["model"] = {{"name", model->name()}, {"weights", model->dtypeSummary()}, {"weight_bytes", model->weightBytes()}};
        out["text_tokens"] = n;
        out["window"] = window;
        out["stride"] = stride;
        out["windows"] = r.windows;
        out["tokens_scored"] = r.tokens;
        out["mean_nll"] = r.meanNll();
        out["perplexity"] = r.perplexity();
        out["perplexity_stderr"] = std::isnan(r.standardError()) ? Json() : Json(r.standardError());
        out["seconds"] = seconds;
        std::cout << out.dump() << "\n";
        return 0;
    }
    std::fprintf(stderr, "\n");
    std::printf("perplexity %.4f ± %.4f (mean NLL %.4f nats) over %d tokens of %d: %d window%s of %d, stride %d, "
                "%.1f s (%s, %s)\n",
                r.perplexity(), r.standardError(), r.meanNll(), r.tokens, n, r.windows, r.windows == 1 ? "" : "s",
                window, stride, seconds, model->name().c_str(), model->dtypeSummary().c_str());
    return 0;
}

} // namespace logitscope::cli
