// chat-template: a conversation (--messages FILE.json) through the model's own chat template, printed as
// the model would read it (and its token ids with --json); plus the messages-file reading that
// `generate --messages` shares. Not a chat loop: one rendering per call.
#include "commands.h"

#include "common/error.h"
#include "tokenizer/conversation.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace logitscope::cli {

namespace {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

Json readJsonFile(const std::string& option, const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("--" + option + ": cannot read '" + path + "'");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
        return Json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw Error(path + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
    }
}

// --var NAME=VALUE: VALUE as JSON when it parses (false, 3, "x", [..]), else as a string.
void applyVars(const std::vector<std::string>& vars, ChatConversation& c)
{
    for (const std::string& v : vars) {
        const size_t eq = v.find('=');
        if (eq == std::string::npos || eq == 0)
            throw Error("--var: expected NAME=VALUE, got '" + v + "'");
        const std::string name = v.substr(0, eq), value = v.substr(eq + 1);
        if (name == "messages" || name == "tools" || name == "add_generation_prompt")
            throw Error("--var " + name + ": set in the messages file (or with --add-generation-prompt), not with --var");
        Json parsed;
        try {
            parsed = Json::parse(value);
        } catch (const nlohmann::json::parse_error&) {
            parsed = value;
        }
        c.vars[name] = parsed;
    }
}

std::unique_ptr<Tokenizer> loadTokenizerOf(const std::string& path)
{
    if (!fs::exists(path))
        throw Error("--model: '" + path + "' does not exist");
    return fs::is_directory(path) ? loadTokenizerFromFolder(path) : loadTokenizerFile(path);
}

std::string tokenText(const Json& t)
{
    if (t.is_string())
        return t.get<std::string>();
    if (t.is_object() && t.contains("content") && t["content"].is_string())
        return t["content"].get<std::string>();
    return "";
}

} // namespace

ChatConversation readMessagesFile(const std::string& path, const std::vector<std::string>& vars, bool& generationPromptSet)
{
    const Json j = readJsonFile("messages", path);
    ChatConversation c = parseConversation(j, path);
    generationPromptSet = j.is_object() && j.contains("add_generation_prompt");
    applyVars(vars, c);
    return c;
}

int cmdChatTemplate(const Args& args)
{
    const bool fromConfig = args.has("tokenizer-config");
    if (fromConfig == args.has("model"))
        throw Error("chat-template: give --model PATH or --tokenizer-config FILE (one of them)");
    const std::string source = fromConfig ? args.str("tokenizer-config") : args.str("model");
    const std::string messagesPath = args.str("messages");
    const bool generationFlag = args.flag("add-generation-prompt");
    const bool json = args.flag("json");
    const std::vector<std::string> vars = args.all("var");
    args.rejectUnknown();

    bool fileSetsPrompt = false;
    ChatConversation c = readMessagesFile(messagesPath, vars, fileSetsPrompt);
    if (!fileSetsPrompt || generationFlag)
        c.addGenerationPrompt = generationFlag;
    const bool withTools = c.tools.is_array() && !c.tools.empty();

    std::unique_ptr<Tokenizer> tok;
    std::string chatTemplate;
    ChatTemplateTokens tokens;
    if (fromConfig) {
        const Json cfg = readJsonFile("tokenizer-config", source);
        if (!cfg.is_object())
            throw Error(source + ": expected a JSON object (tokenizer_config.json)");
        tokens.bos = tokenText(cfg.value("bos_token", Json()));
        tokens.eos = tokenText(cfg.value("eos_token", Json()));
        tokens.unk = tokenText(cfg.value("unk_token", Json()));
        tokens.pad = tokenText(cfg.value("pad_token", Json()));
        if (cfg.contains("chat_template")) {
            const Json& t = cfg["chat_template"];
            if (t.is_string()) {
                chatTemplate = t.get<std::string>();
            } else if (t.is_array()) {
                for (size_t k = 0; k < t.size(); ++k) {
                    const Json& e = t[k];
                    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("template") || !e["template"].is_string())
                        throw Error(source + ": chat_template[" + std::to_string(k) + "]: expected {\"name\": ..., \"template\": ...}");
                    const std::string name = e["name"].get<std::string>();
                    if ((name == "default" && chatTemplate.empty()) || (name == "tool_use" && withTools))
                        chatTemplate = e["template"].get<std::string>();
                }
            } else {
                throw Error(source + ": chat_template: must be a string or a list of named templates");
            }
        }
        // A tokenizer next to the config gives the ids too.
        const fs::path dir = fs::path(source).parent_path();
        if (fs::exists(dir / "tokenizer.json") || fs::exists(dir / "tokenizer.model"))
            tok = loadTokenizerFromFolder(dir.empty() ? "." : dir.string());
    } else {
        tok = loadTokenizerOf(source);
        chatTemplate = tok->chatTemplateFor(withTools);
        tokens = tok->chatTokens();
    }

    const ChatRendering r = renderConversation(chatTemplate, c, tokens, false, source + " chat template");
    if (!r.notice.empty())
        std::fprintf(stderr, "note: %s\n", r.notice.c_str());
    if (!json) {
        std::fwrite(r.text.data(), 1, r.text.size(), stdout);
        if (r.text.empty() || r.text.back() != '\n')
            std::fputc('\n', stdout);
        return 0;
    }
    Json out;
    out["text"] = r.text;
    out["template"] = r.fromTemplate ? "model" : r.family;
    out["family"] = r.family;
    out["end_of_turn"] = r.endOfTurn;
    out["add_generation_prompt"] = c.addGenerationPrompt;
    out["notice"] = r.notice;
    if (tok) {
        // As Hugging Face's apply_chat_template(tokenize=True): special-token text becomes its id, no BOS added.
        const std::vector<int32_t> ids = tok->encode(r.text, {false, true});
        out["ids"] = ids;
        Json pieces = Json::array();
        for (int32_t id : ids)
            pieces.push_back(tok->piece(id));
        out["tokens"] = pieces;
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
}

} // namespace logitscope::cli
