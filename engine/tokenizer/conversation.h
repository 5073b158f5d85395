// Conversations for chat templates: messages (role, content, tool calls), tools, add_generation_prompt and
// extra variables (enable_thinking...), validated with errors naming the message and field, rendered with
// the model's own Jinja template — or, when the interpreter cannot run it, with the family rendering of
// chat_template.h and a one-line notice naming the construct. Not a chat session: no history or ids here.
#pragma once

#include "tokenizer/chat_template.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace logitscope {

struct ChatConversation {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array(); // [{"role", "content", ...}]
    nlohmann::ordered_json tools;                                      // null, or an array of tool schemas
    bool addGenerationPrompt = true;
    nlohmann::ordered_json vars = nlohmann::ordered_json::object();   // extra variables: enable_thinking...
};

// The roles a message may have: system, user, assistant, tool (plus developer and ipython, which some
// templates use).
const std::vector<std::string>& chatRoles();

// Checks messages (an array of objects with a known role; content a string, a list of parts
// {"type": "text", "text": ...}, or null / absent on an assistant turn with tool_calls; tool_calls a list
// of {"function": {"name", "arguments"}}) and tools (an array of objects). Throws Error
// "SOURCE: messages[2].content: ..." naming the message index and field.
void validateConversation(const ChatConversation& c, const std::string& source);

// A messages file: either a list of messages, or {"messages": [...], "tools": [...],
// "add_generation_prompt": bool, any other key: a template variable}. Validates; throws Error naming source.
ChatConversation parseConversation(const nlohmann::ordered_json& j, const std::string& source);

// The special-token texts a template may use (bos_token, eos_token...), as Hugging Face passes them.
struct ChatTemplateTokens {
    std::string bos, eos, unk, pad;
};

// Renders the conversation with the template (Jinja). On a template error the conversation is rendered
// in the template's family instead and `notice` says which construct failed; with no template at all,
// the raw text of the messages. Throws only for an invalid conversation (validateConversation).
// The text keeps the template's BOS text out when stripBos is set (encode() adds BOS itself).
ChatRendering renderConversation(const std::string& chatTemplate, const ChatConversation& c,
                                 const ChatTemplateTokens& tokens, bool stripBos,
                                 const std::string& templateName = "chat template");

// The family rendering of a whole conversation (the fallback): "chatml", "llama3", "gemma", ...
std::string renderFamilyConversation(const std::string& family, const ChatConversation& c, const ChatTemplateTokens& tokens);

// The text of a message's content: a string as is, a list of parts as the concatenation of its text parts.
std::string messageText(const nlohmann::ordered_json& content);

} // namespace logitscope
