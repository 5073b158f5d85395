// embeddings: one token's input embedding — its norm, nearest neighbours by cosine similarity, whether the
// matrix doubles as the LM head, and (gpt2) what the learned position row adds to it.
#include "commands.h"

#include "common/error.h"
#include "model/embeddings.h"
#include "model/model.h"
#include "model/ops.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace logitscope::cli {

namespace {

using Json = nlohmann::ordered_json;

double msSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// --token: a piece exactly as stored ("▁the", "Ġthe"), else text that encodes to exactly one token.
int32_t tokenFromText(const Tokenizer& tok, const std::string& text)
{
    if (const int32_t id = tok.findToken(text); id >= 0)
        return id;
    const std::vector<int32_t> ids = tok.encode(text, EncodeOptions{false, true});
    if (ids.size() == 1)
        return ids.front();
    std::string list;
    for (int32_t id : ids)
        list += (list.empty() ? "" : " ") + std::to_string(id);
    throw Error("--token: '" + text + "' is " + std::to_string(ids.size()) + " tokens (" + list +
                "), not one; pass a single token or --id N");
}

float cosine(const std::vector<float>& a, const std::vector<float>& b)
{
    const float d = std::sqrt(ops::dot(a.data(), a.data(), int(a.size())) * ops::dot(b.data(), b.data(), int(b.size())));
    return d > 0 ? ops::dot(a.data(), b.data(), int(a.size())) / d : 0.0f;
}

} // namespace

int cmdEmbeddings(const Args& args)
{
    const std::string path = args.str("model");
    const bool json = args.flag("json");
    const int k = args.integer("k", 10);
    const int threads = args.integer("threads", 0);
    const bool byText = args.has("token");
    const std::string text = byText ? args.str("token") : std::string();
    const int idArg = args.integer("id", -1);
    const int position = args.integer("position", 0);
    if (byText == args.has("id"))
        throw Error("embeddings: pass exactly one of --token S and --id N");
    if (k < 1 || k > 1000)
        throw Error("--k: expected 1..1000, got " + std::to_string(k));
    if (threads < 0)
        throw Error("--threads: expected 0 (all cores) or more, got " + std::to_string(threads));
    args.rejectUnknown();

    auto model = Model::load(path);
    const Tokenizer& tok = model->tokenizer();
    const int32_t id = byText ? tokenFromText(tok, text) : int32_t(idArg);
    if (id < 0 || id >= model->config().vocabSize)
        throw Error("--id: " + std::to_string(id) + " is outside the vocabulary (0.." +
                    std::to_string(model->config().vocabSize - 1) + ")");

    auto t0 = std::chrono::steady_clock::now();
    const EmbeddingIndex index(model, threads);
    const double indexMs = msSince(t0);
    t0 = std::chrono::steady_clock::now();
    const std::vector<Neighbour> near = index.nearest(id, k);
    const double queryMs = msSince(t0);
    const std::vector<float> row = index.row(id);
    const TensorView& table = model->weights().tokenEmbedding;

    Json neighbours = Json::array();
    for (const Neighbour& n : near)
        neighbours.push_back({{"id", n.id}, {"piece", tok.piece(n.id)}, {"cosine", n.cosine}});
    Json out = {{"id", id},
                {"piece", tok.piece(id)},
                {"bytes", tok.tokenBytes(id)},
                {"norm", index.norm(id)},
                {"dim", index.dim()},
                {"dtype", dtypeName(table.type)},
                {"tied_to_head", index.tiedToHead()},
                {"neighbours", neighbours}};
    Json pos;
    if (index.hasPositions()) {
        if (position < 0 || position >= index.positions())
            throw Error("--position: " + std::to_string(position) + " is outside the model's " +
                        std::to_string(index.positions()) + " learned positions");
        const std::vector<float> p = index.positionRow(position);
        const std::vector<float> sum = index.inputRow(id, position);
        pos = {{"position", position},
               {"norm", std::sqrt(ops::dot(p.data(), p.data(), index.dim()))},
               {"input_norm", std::sqrt(ops::dot(sum.data(), sum.data(), index.dim()))},
               {"input_cosine_to_token", cosine(sum, row)},
               {"row", p}};
        out["position_embedding"] = pos;
    }
    out["row"] = row;
    out["index_ms"] = indexMs;
    out["query_ms"] = queryMs;
    if (json) {
        std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    }
    std::printf("token     %d  %s\n", id, tok.piece(id).c_str());
    std::printf("norm      %.4f  (%d values, %s)\n", index.norm(id), index.dim(), dtypeName(table.type));
    std::printf("LM head   %s\n", index.tiedToHead() ? "the same matrix (tied embeddings)" : "a separate matrix");
    if (!pos.is_null())
        std::printf("position  %d: norm %.4f; token + position has norm %.4f, cosine %.4f to the token alone\n",
                    position, pos["norm"].get<float>(), pos["input_norm"].get<float>(),
                    pos["input_cosine_to_token"].get<float>());
    std::printf("nearest by cosine (index %.1f ms, query %.1f ms):\n", indexMs, queryMs);
    for (size_t i = 0; i < near.size(); ++i)
        std::printf("  %2zu  %7d  %-24s %.4f\n", i + 1, near[i].id, tok.piece(near[i].id).c_str(), near[i].cosine);
    return 0;
}

} // namespace logitscope::cli
