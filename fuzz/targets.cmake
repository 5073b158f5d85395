# The fuzz targets: fuzz/fuzz_<name>.cpp, seed corpus fuzz/corpus/<name>/, fixed crashes fuzz/crashes/<name>/.
# Read by fuzz/CMakeLists.txt (libFuzzer binaries) and tests/fuzz/CMakeLists.txt (replay tests).
set(LOGITSCOPE_FUZZ_TARGETS
  gguf safetensors hf_config sampling_params tokenizer_json tokenizer_config gguf_vocab encode_bpe encode_spm)
