// logitscope-cli: the engine from the command line, for scripting, tests and benchmarks.
// Exit codes: 0 success, 1 internal failure, 2 bad input (the message names the file or option).
#include "commands.h"

#include "common/error.h"
#include "model/thread_pool.h"
#ifdef LOGITSCOPE_HAVE_CUDA
#include "cuda_backend.h"
#endif

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

using namespace logitscope;

namespace {

const char* kUsage = R"(usage: logitscope-cli <command> [options]

commands:
  info       --model PATH [--json]
  tokenize   --model PATH|--tokenizer FILE --text S [--no-special] [--chat USER [--system S]] [--json]
  chat-template --model PATH|--tokenizer-config FILE --messages FILE.json [--add-generation-prompt]
             [--var NAME=VALUE]... [--json]
  generate   --model PATH --prompt S|--messages FILE.json [--var NAME=VALUE]... [--max-new-tokens N] [--greedy] [--top-logprobs K] [--attention]
             [--device cpu|cuda|auto] [--threads N] [--weights mapped|memory] [--rope-rounding none|fp16|bf16]
             [--kv-type f32|f16] [--requantize q8_0|q6_k|q4_k_m|q2_k|...] [--no-chat-template] [--system S]
             [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--typical-p P]
             [--repetition-penalty R] [--presence-penalty P] [--frequency-penalty F] [--no-repeat-ngram N]
             [--min-new-tokens N] [--stop S]... [--grammar FILE.gbnf | --json-schema FILE.json] [--seed S] [--order hf|vllm|llama.cpp]
             [--logit-bias ID=BIAS|TEXT=BIAS]... [--dry-multiplier M] [--dry-base B] [--dry-allowed-length N]
             [--dry-penalty-last-n N] [--dry-sequence-breaker S]... [--xtc-probability P] [--xtc-threshold T]
             [--top-n-sigma N] [--mirostat 1|2 --mirostat-tau T --mirostat-eta E] [--dynatemp-range R]
             [--dynatemp-exponent X]   (llama.cpp's samplers; mirostat needs --order llama.cpp)
             [--beams N] [--length-penalty L] [--early-stopping true|false|never] [--num-return N]
             [--trace FILE] [--logit-lens] [--json]
  perplexity --model PATH --file PATH|--text S [--window N] [--stride N] [--device D] [--threads N]
             [--kv-type f32|f16] [--requantize TYPE] [--json]
  embeddings --model PATH --token S|--id N [--k 10] [--position P] [--threads N] [--json]
  bench      --model PATH [--device D] [--prompt-tokens 512] [--gen-tokens 128] [--threads N]
             [--weights mapped|memory] [--kv-type f32|f16] [--requantize TYPE] [--json]
  make-model --arch llama|qwen2|qwen3|phi3|gpt2 --shape tiny|smollm2-135m|tinyllama-1.1b|qwen3-0.6b --format gguf|hf --out PATH
             [--vocab FILE] [--dtype f16|f32|bf16|q8_0|q4_k_m|q5_k_m|q6_k|...] [--seed S]
  models     [--dir PATH]... [--save-dirs] [--depth N] [--no-hf-cache] [--json]
  pull       REPO_ID [--revision R] [--include GLOB]... [--retries N] [--json]
)";

} // namespace

int main(int argc, char** argv)
{
#ifdef LOGITSCOPE_HAVE_CUDA
    registerCudaBackend();
#endif
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    try {
        ThreadPool::defaultThreadCount(); // a bad LOGITSCOPE_THREADS is refused before any work (rc 2)
        if (command == "info")
            return cli::cmdInfo(cli::Args(argc, argv, 2, {"json"}));
        if (command == "tokenize")
            return cli::cmdTokenize(cli::Args(argc, argv, 2, {"json", "no-special"}));
        if (command == "generate")
            return cli::cmdGenerate(cli::Args(argc, argv, 2, {"json", "greedy", "attention", "no-chat-template", "logit-lens"}));
        if (command == "chat-template")
            return cli::cmdChatTemplate(cli::Args(argc, argv, 2, {"json", "add-generation-prompt"}));
        if (command == "bench")
            return cli::cmdBench(cli::Args(argc, argv, 2, {"json"}));
        if (command == "perplexity")
            return cli::cmdPerplexity(cli::Args(argc, argv, 2, {"json"}));
        if (command == "embeddings")
            return cli::cmdEmbeddings(cli::Args(argc, argv, 2, {"json"}));
        if (command == "models")
            return cli::cmdModels(cli::Args(argc, argv, 2, {"json", "save-dirs", "no-hf-cache"}));
        if (command == "pull")
            return cli::cmdPull(cli::Args(argc, argv, 2, {"json"}));
        if (command == "make-model")
            return cli::cmdMakeModel(cli::Args(argc, argv, 2, {}));
        std::fprintf(stderr, "logitscope-cli: unknown command '%s'\n%s", command.c_str(), kUsage);
        return 2;
    } catch (const Error& e) {
        std::fprintf(stderr, "logitscope-cli %s: %s\n", command.c_str(), e.what());
        return 2;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "logitscope-cli %s: out of memory\n", command.c_str());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "logitscope-cli %s: internal error: %s\n", command.c_str(), e.what());
        return 1;
    }
}
