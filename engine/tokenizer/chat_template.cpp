// Family detection looks for each family's markers, most specific first (Llama 3 and ChatML templates
// can mention "[INST]" in comments; Zephyr and Phi-3 share "<|user|>").
#include "tokenizer/chat_template.h"

namespace logitscope {

namespace {

bool has(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

} // namespace

std::string detectChatFamily(const std::string& t)
{
    if (t.empty())
        return "raw";
    if (has(t, "<|start_header_id|>"))
        return "llama3";
    if (has(t, "<|im_start|>"))
        return "chatml";
    if (has(t, "<start_of_turn>"))
        return "gemma";
    if (has(t, "[INST]") && has(t, "<<SYS>>"))
        return "llama2";
    if (has(t, "[INST]"))
        return "mistral";
    if (has(t, "<|user|>") && has(t, "<|end|>"))
        return "phi3";
    if (has(t, "<|user|>"))
        return "zephyr";
    return "raw";
}

std::string chatEndOfTurn(const std::string& family)
{
    if (family == "chatml") return "<|im_end|>";
    if (family == "llama3") return "<|eot_id|>";
    if (family == "phi3") return "<|end|>";
    if (family == "gemma") return "<end_of_turn>";
    return "";
}

ChatRendering renderChat(const std::string& chatTemplate, const std::string& system, const std::string& user)
{
    ChatRendering r;
    r.family = detectChatFamily(chatTemplate);
    const bool sys = !system.empty();
    std::string& t = r.text;
    if (r.family == "chatml") {
        if (sys)
            t += "<|im_start|>system\n" + system + "<|im_end|>\n";
        t += "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n";
    } else if (r.family == "llama3") {
        if (sys)
            t += "<|start_header_id|>system<|end_header_id|>\n\n" + system + "<|eot_id|>";
        t += "<|start_header_id|>user<|end_header_id|>\n\n" + user + "<|eot_id|>";
        t += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    } else if (r.family == "llama2") {
        t += "[INST] ";
        if (sys)
            t += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
        t += user + " [/INST]";
    } else if (r.family == "mistral") {
        // Mistral templates have no system role: the system text leads the first user turn.
        t += "[INST] " + (sys ? system + "\n\n" : std::string()) + user + " [/INST]";
    } else if (r.family == "phi3") {
        if (sys)
            t += "<|system|>\n" + system + "<|end|>\n";
        t += "<|user|>\n" + user + "<|end|>\n<|assistant|>\n";
    } else if (r.family == "zephyr") {
        if (sys)
            t += "<|system|>\n" + system + "</s>\n";
        t += "<|user|>\n" + user + "</s>\n<|assistant|>\n";
    } else if (r.family == "gemma") {
        t += "<start_of_turn>user\n" + (sys ? system + "\n\n" : std::string()) + user + "<end_of_turn>\n";
        t += "<start_of_turn>model\n";
    } else {
        t = sys ? system + "\n\n" + user : user;
        r.notice = chatTemplate.empty()
            ? "no chat template: the prompt is used as raw text"
            : "unrecognised chat template: the prompt is used as raw text";
    }
    return r;
}

} // namespace logitscope
