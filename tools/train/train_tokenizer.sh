#!/bin/sh
# Train the SentencePiece BPE tokenizer on the training split (Debian `sentencepiece`, 0.1.97).
# Usage: sh tools/train/train_tokenizer.sh [WORK_DIR] [VOCAB_SIZE]
# Writes WORK_DIR/tokenizer.model and WORK_DIR/tokenizer.vocab
set -eu
WORK=${1:-/tmp/logitscope-train}
VOCAB=${2:-4096}
# spm_train skips blank lines (the document separators in train.txt)
spm_train \
  --input="$WORK/train.txt" \
  --model_prefix="$WORK/tokenizer" \
  --model_type=bpe \
  --vocab_size="$VOCAB" \
  --character_coverage=1.0 \
  --byte_fallback=true \
  --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --normalization_rule_name=identity \
  --add_dummy_prefix=true \
  --remove_extra_whitespaces=true \
  --split_digits=true \
  --max_sentence_length=4192 \
  --num_threads=2 \
  --minloglevel=1
echo "wrote $WORK/tokenizer.model (vocab $VOCAB)"
