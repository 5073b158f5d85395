// The logitscope-cli subcommands. Each returns the process exit code; bad input throws Error (exit 2).
#pragma once

#include "args.h"

#include "tokenizer/conversation.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace logitscope {
class Backend;
class Model;
} // namespace logitscope

namespace logitscope::cli {

int cmdInfo(const Args& args);
int cmdTokenize(const Args& args);
int cmdGenerate(const Args& args);
int cmdBench(const Args& args);
int cmdMakeModel(const Args& args);
int cmdModels(const Args& args);
int cmdPull(const Args& args);
void rememberModel(const std::string& path); // recent list shared with the GUI; no-op without the hub
int cmdEmbeddings(const Args& args);
int cmdPerplexity(const Args& args);
int cmdChatTemplate(const Args& args);

// A --messages file (a list of messages or {"messages", "tools", "add_generation_prompt", vars...}) plus
// --var NAME=VALUE overrides; errors name the file and field. generationPromptSet: the file says.
ChatConversation readMessagesFile(const std::string& path, const std::vector<std::string>& vars, bool& generationPromptSet);

// Shared by the commands: --model with --rope-rounding none|fp16|bf16 -> the loaded model.
std::shared_ptr<const Model> loadModel(const Args& args);
// Shared by the commands: --device/--threads/--weights -> a backend, with the CPU-fallback notice on stderr.
std::unique_ptr<Backend> openBackend(const Args& args, std::shared_ptr<const Model> model);
// Peak resident set size of this process (VmHWM), bytes.
size_t peakRssBytes();
// The model's weights by element type: "Q4_K 432.6 MB (4.50 bits), Q6_K …" and as JSON (info, bench).
std::string weightTypesText(const Model& model);
nlohmann::ordered_json weightTypesJson(const Model& model);

} // namespace logitscope::cli
