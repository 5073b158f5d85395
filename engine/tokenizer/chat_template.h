// Chat template families: recognises the common template families by distinctive substrings and renders
// one system + user turn followed by the assistant generation prompt (the fallback when the model's own
// template cannot be run). Not the Jinja renderer: conversation.h renders the template itself.
#pragma once

#include <string>

namespace logitscope {

struct ChatRendering {
    std::string text;   // the prompt to encode (no BOS text: encode with addSpecial adds BOS per the tokenizer)
    std::string family; // "chatml", "llama3", "llama2", "mistral", "zephyr", "phi3", "gemma", or "raw"
    std::string notice; // empty when the template was recognised; otherwise why the raw text is used
    std::string endOfTurn;     // the text that ends a turn ("<|im_end|>"), or the EOS text; renderConversation only
    bool fromTemplate = false; // rendered by the model's own Jinja template (renderConversation only)
};

// The family name for a template's source text ("raw" when empty or unrecognised).
std::string detectChatFamily(const std::string& chatTemplate);

// Renders system (skipped when empty) + user + generation prompt in the template's family.
ChatRendering renderChat(const std::string& chatTemplate, const std::string& system, const std::string& user);

// The end-of-turn token text of a family ("<|im_end|>" for chatml), or "" when it has none of its own.
std::string chatEndOfTurn(const std::string& family);

} // namespace logitscope
