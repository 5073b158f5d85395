// Writing a Model's weights to disk as a GGUF file or a Hugging Face folder, with a real tokenizer
// taken from a vocabulary file. Used by `logitscope-cli make-model` and by tests that need the same
// model in both formats; never on the path that runs a model.
#pragma once

#include "common/dtype.h"
#include "model/config.h"
#include "common/quantize.h"

#include <cstdint>
#include <memory>
#include <string>

namespace logitscope {

class Model;

enum class ModelFormat { Gguf, HuggingFace };

// Named shapes: "tiny", "smollm2-135m", "tinyllama-1.1b". Throws Error for an unknown name.
ModelConfig namedShape(Architecture arch, const std::string& shape);

struct MakeModelOptions {
    Architecture arch = Architecture::Llama;
    std::string shape = "tiny";
    ModelFormat format = ModelFormat::Gguf;
    std::string out;              // .gguf file, or folder for HuggingFace
    std::string vocab;            // GGUF vocabulary, tokenizer.json or tokenizer.model
    WeightTypes weights = DType::F16; // matrices; norms stay F32
    uint64_t seed = 1;
};

// Builds random weights of the shape (vocabulary size from the vocab file) and writes them.
// GGUF llama files get Meta's interleaved Q/K row order, so both formats compute the same function.
void makeModel(const MakeModelOptions& options);

// Writes an existing model (e.g. synthetic) in the given format, tokenizer from `vocab`.
void writeModel(const Model& model, ModelFormat format, const std::string& out, const std::string& vocab);

} // namespace logitscope
