// Conversations for chat templates: validation, the messages-file format, rendering through the Jinja
// interpreter with the family fallback. Not the interpreter (tokenizer/jinja) and not the family
// detection (chat_template.cpp).
#include "tokenizer/conversation.h"

#include "common/error.h"
#include "tokenizer/jinja/jinja.h"

#include <algorithm>

namespace logitscope {

using ojson = nlohmann::ordered_json;

const std::vector<std::string>& chatRoles()
{
    static const std::vector<std::string> roles = {"system", "user", "assistant", "tool", "developer", "ipython"};
    return roles;
}

namespace {

[[noreturn]] void fail(const std::string& source, const std::string& field, const std::string& what)
{
    throw Error(source + ": " + field + ": " + what);
}

const char* jsonType(const ojson& j)
{
    switch (j.type()) {
    case ojson::value_t::null: return "null";
    case ojson::value_t::boolean: return "a boolean";
    case ojson::value_t::string: return "a string";
    case ojson::value_t::array: return "a list";
    case ojson::value_t::object: return "an object";
    default: return "a number";
    }
}

void validateContent(const ojson& content, const std::string& source, const std::string& field)
{
    if (content.is_string())
        return;
    if (!content.is_array())
        fail(source, field, std::string("must be a string or a list of parts, not ") + jsonType(content));
    for (size_t k = 0; k < content.size(); ++k) {
        const ojson& part = content[k];
        const std::string pf = field + "[" + std::to_string(k) + "]";
        if (!part.is_object())
            fail(source, pf, std::string("must be an object like {\"type\": \"text\", \"text\": ...}, not ") + jsonType(part));
        if (!part.contains("type") || !part["type"].is_string())
            fail(source, pf + ".type", "missing (a string such as \"text\" or \"image\")");
        if (part["type"] == "text" && (!part.contains("text") || !part["text"].is_string()))
            fail(source, pf + ".text", "a text part needs a string \"text\"");
    }
}

} // namespace

void validateConversation(const ChatConversation& c, const std::string& source)
{
    if (!c.messages.is_array())
        fail(source, "messages", std::string("must be a list, not ") + jsonType(c.messages));
    if (c.messages.empty())
        fail(source, "messages", "the list is empty");
    const auto& roles = chatRoles();
    for (size_t i = 0; i < c.messages.size(); ++i) {
        const ojson& m = c.messages[i];
        const std::string f = "messages[" + std::to_string(i) + "]";
        if (!m.is_object())
            fail(source, f, std::string("must be an object with \"role\" and \"content\", not ") + jsonType(m));
        if (!m.contains("role"))
            fail(source, f + ".role", "missing");
        if (!m["role"].is_string())
            fail(source, f + ".role", std::string("must be a string, not ") + jsonType(m["role"]));
        const std::string role = m["role"].get<std::string>();
        if (std::find(roles.begin(), roles.end(), role) == roles.end())
            fail(source, f + ".role", "'" + role + "' is not a role (system, user, assistant, tool, developer, ipython)");
        const bool hasCalls = m.contains("tool_calls") && !m["tool_calls"].is_null();
        if (hasCalls) {
            if (role != "assistant")
                fail(source, f + ".tool_calls", "only an assistant message can carry tool calls");
            const ojson& calls = m["tool_calls"];
            if (!calls.is_array())
                fail(source, f + ".tool_calls", std::string("must be a list, not ") + jsonType(calls));
            for (size_t k = 0; k < calls.size(); ++k) {
                const std::string cf = f + ".tool_calls[" + std::to_string(k) + "]";
                const ojson& call = calls[k];
                if (!call.is_object())
                    fail(source, cf, std::string("must be an object, not ") + jsonType(call));
                const ojson& fn = call.contains("function") ? call["function"] : call;
                if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string())
                    fail(source, cf + ".function.name", "missing (a string)");
                if (fn.contains("arguments") && !fn["arguments"].is_object() && !fn["arguments"].is_string())
                    fail(source, cf + ".function.arguments", std::string("must be an object or a JSON string, not ") + jsonType(fn["arguments"]));
            }
        }
        if (!m.contains("content") || m["content"].is_null()) {
            if (!hasCalls)
                fail(source, f + ".content", "missing (only an assistant turn with tool_calls may leave it out)");
            continue;
        }
        validateContent(m["content"], source, f + ".content");
        if (m.contains("reasoning_content") && !m["reasoning_content"].is_string() && !m["reasoning_content"].is_null())
            fail(source, f + ".reasoning_content", std::string("must be a string, not ") + jsonType(m["reasoning_content"]));
    }
    if (!c.tools.is_null()) {
        if (!c.tools.is_array())
            fail(source, "tools", std::string("must be a list, not ") + jsonType(c.tools));
        for (size_t k = 0; k < c.tools.size(); ++k)
            if (!c.tools[k].is_object())
                fail(source, "tools[" + std::to_string(k) + "]", std::string("must be an object, not ") + jsonType(c.tools[k]));
    }
}

ChatConversation parseConversation(const ojson& j, const std::string& source)
{
    ChatConversation c;
    if (j.is_array()) {
        c.messages = j;
    } else if (j.is_object()) {
        if (!j.contains("messages"))
            fail(source, "messages", "missing (the file holds a list of messages or {\"messages\": [...]})");
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (it.key() == "messages")
                c.messages = it.value();
            else if (it.key() == "tools")
                c.tools = it.value();
            else if (it.key() == "add_generation_prompt") {
                if (!it.value().is_boolean())
                    fail(source, "add_generation_prompt", std::string("must be true or false, not ") + jsonType(it.value()));
                c.addGenerationPrompt = it.value().get<bool>();
            } else
                c.vars[it.key()] = it.value();
        }
    } else {
        fail(source, "messages", std::string("the file must hold a list of messages or an object, not ") + jsonType(j));
    }
    validateConversation(c, source);
    return c;
}

std::string messageText(const ojson& content)
{
    if (content.is_string())
        return content.get<std::string>();
    std::string out;
    if (content.is_array())
        for (const ojson& part : content)
            if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string())
                out += part["text"].get<std::string>();
    return out;
}

std::string renderFamilyConversation(const std::string& family, const ChatConversation& c, const ChatTemplateTokens& tok)
{
    std::string t;
    std::string pendingSystem; // families without a system role fold it into the next user turn
    bool firstTurn = true;
    for (const ojson& m : c.messages) {
        const std::string role = m.value("role", "user");
        const std::string text = m.contains("content") ? messageText(m["content"]) : std::string();
        if (family == "chatml") {
            t += "<|im_start|>" + role + "\n" + text + "<|im_end|>\n";
        } else if (family == "llama3") {
            t += "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + text + "<|eot_id|>";
        } else if (family == "phi3") {
            t += "<|" + role + "|>\n" + text + "<|end|>\n";
        } else if (family == "zephyr") {
            t += "<|" + role + "|>\n" + text + tok.eos + "\n";
        } else if (family == "gemma") {
            if (role == "system") {
                pendingSystem += text + "\n\n";
                continue;
            }
            t += "<start_of_turn>" + std::string(role == "assistant" ? "model" : role) + "\n";
            t += (role == "user" ? pendingSystem : std::string()) + text + "<end_of_turn>\n";
            if (role == "user")
                pendingSystem.clear();
        } else if (family == "llama2" || family == "mistral") {
            if (role == "system") {
                pendingSystem += family == "llama2" ? "<<SYS>>\n" + text + "\n<</SYS>>\n\n" : text + "\n\n";
                continue;
            }
            if (role == "assistant") {
                t += " " + text + " " + tok.eos;
            } else {
                if (!firstTurn)
                    t += tok.bos;
                t += "[INST] " + pendingSystem + text + " [/INST]";
                pendingSystem.clear();
                firstTurn = false;
            }
        } else {
            if (!t.empty())
                t += "\n\n";
            t += text;
        }
    }
    if (!c.addGenerationPrompt)
        return t;
    if (family == "chatml")
        t += "<|im_start|>assistant\n";
    else if (family == "llama3")
        t += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    else if (family == "phi3" || family == "zephyr")
        t += "<|assistant|>\n";
    else if (family == "gemma")
        t += "<start_of_turn>model\n";
    return t;
}

ChatRendering renderConversation(const std::string& chatTemplate, const ChatConversation& c,
                                 const ChatTemplateTokens& tokens, bool stripBos, const std::string& templateName)
{
    validateConversation(c, "conversation");
    ChatRendering r;
    r.family = detectChatFamily(chatTemplate);
    r.endOfTurn = chatEndOfTurn(r.family);
    if (r.endOfTurn.empty())
        r.endOfTurn = tokens.eos;
    if (chatTemplate.empty()) {
        r.text = renderFamilyConversation("raw", c, tokens);
        r.notice = "no chat template: the messages are used as raw text";
        return r;
    }
    ojson ctx = ojson::object();
    ctx["messages"] = c.messages;
    ctx["tools"] = c.tools;
    ctx["add_generation_prompt"] = c.addGenerationPrompt;
    ctx["bos_token"] = tokens.bos;
    ctx["eos_token"] = tokens.eos;
    if (!tokens.unk.empty())
        ctx["unk_token"] = tokens.unk;
    if (!tokens.pad.empty())
        ctx["pad_token"] = tokens.pad;
    for (auto it = c.vars.begin(); it != c.vars.end(); ++it)
        ctx[it.key()] = it.value();
    try {
        const jinja::Template t(chatTemplate, templateName);
        r.text = t.render(ctx);
        r.fromTemplate = true;
    } catch (const jinja::JinjaError& e) {
        r.text = renderFamilyConversation(r.family, c, tokens);
        std::string why = e.what();
        std::replace(why.begin(), why.end(), '\n', ' '); // the notice is one line
        r.notice = "the chat template could not be run (" + why + "); rendered as the " + r.family + " family instead";
        return r;
    }
    if (stripBos && !tokens.bos.empty() && r.text.compare(0, tokens.bos.size(), tokens.bos) == 0)
        r.text.erase(0, tokens.bos.size());
    return r;
}

} // namespace logitscope
