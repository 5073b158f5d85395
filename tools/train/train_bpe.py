#!/usr/bin/env python3
"""Train a small GPT-2-style byte-level BPE tokenizer and write it as a Hugging Face tokenizer.json.

Usage:  python3 tools/train/train_bpe.py --work /tmp/logitscope-train \
            --out resources/tokenizers/brown-bpe/tokenizer.json

Reads   WORK/train.txt (the Brown corpus sentences written by prepare_data.py), or the --input files.
Writes  OUT: model BPE (vocab + merges), ByteLevel pre-tokenizer and decoder, "<|endoftext|>" as the
        last id -- the layout of GPT-2's tokenizer.json, only with a vocabulary of a few thousand pieces.

What it does, as GPT-2 did: every text is cut into words by GPT-2's pre-tokenizer regex ('s|'t|...|
 ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+), each word's UTF-8 bytes are written in GPT-2's
byte-to-unicode alphabet (a space becomes "Ġ"), and the most frequent adjacent pair of symbols is merged
again and again until the vocabulary has --vocab-size entries (256 bytes + merges + 1 special token).
Ties are broken by the pair's text, so a rerun on the same input writes the same file.
Python 3 standard library only (no `tokenizers`, no network); not a reimplementation of every option
of Hugging Face's BpeTrainer (no dropout, no min_frequency, no limit on the alphabet).
"""
import argparse
import collections
import heapq
import json
import os
import sys
import time
import unicodedata

SPECIAL = "<|endoftext|>"
CONTRACTIONS = ("s", "t", "re", "ve", "m", "ll", "d")


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable characters (space -> "Ġ")."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def char_class(c):
    """'L' letter, 'N' number, 'S' whitespace, 'O' anything else (the classes of GPT-2's regex)."""
    if c.isspace():
        return "S"
    cat = unicodedata.category(c)
    if cat[0] == "L":
        return "L"
    if cat[0] == "N":
        return "N"
    return "O"


def pretokenize(text):
    """GPT-2's pre-tokenizer regex, written out as a scanner (Python's re has no \\p{L} / \\p{N}).

    Alternatives are tried in the regex's order at each position, as a backtracking engine does."""
    words = []
    n = len(text)
    cls = [char_class(c) for c in text]
    i = 0
    while i < n:
        c = text[i]
        # 's|'t|'re|'ve|'m|'ll|'d
        if c == "'":
            hit = next((s for s in CONTRACTIONS if text.startswith(s, i + 1)), None)
            if hit:
                words.append(text[i:i + 1 + len(hit)])
                i += 1 + len(hit)
                continue
        # ' ?\p{L}+' | ' ?\p{N}+' | ' ?[^\s\p{L}\p{N}]+'
        start = i
        j = i + 1 if c == " " and i + 1 < n and cls[i + 1] != "S" else i
        if cls[j] != "S":
            k = j
            while k < n and cls[k] == cls[j]:
                k += 1
            words.append(text[start:k])
            i = k
            continue
        # '\s+(?!\S)' then '\s+': a run of whitespace leaves its last character to the next word
        k = i
        while k < n and cls[k] == "S":
            k += 1
        if k < n and k - 1 > i:
            k -= 1
        words.append(text[i:k])
        i = k
    return words


def to_symbols(word):
    return tuple(BYTE_TO_CHAR[b] for b in word.encode("utf-8"))


def count_words(paths):
    counts = collections.Counter()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line:
                    counts.update(pretokenize(line))
    return counts


def train(word_counts, merges_wanted, log_every=500):
    """Returns the merges, most frequent first. Pair counts are updated incrementally: only the words
    that contain the merged pair are re-counted."""
    words = []
    freq = []
    for w, c in word_counts.items():
        words.append(list(to_symbols(w)))
        freq.append(c)
    pair_count = collections.Counter()
    where = collections.defaultdict(set)   # pair -> indices of the words that contain it
    for idx, syms in enumerate(words):
        for p in zip(syms, syms[1:]):
            pair_count[p] += freq[idx]
            where[p].add(idx)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    t0 = time.time()
    while len(merges) < merges_wanted and heap:
        negc, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc or negc == 0:
            continue   # stale entry: the count changed since it was pushed
        merges.append(pair)
        merged = pair[0] + pair[1]
        changed = set()
        for idx in list(where.pop(pair, ())):
            syms = words[idx]
            f = freq[idx]
            for p in zip(syms, syms[1:]):
                pair_count[p] -= f
                changed.add(p)
            out = []
            k = 0
            while k < len(syms):
                if k + 1 < len(syms) and syms[k] == pair[0] and syms[k + 1] == pair[1]:
                    out.append(merged)
                    k += 2
                else:
                    out.append(syms[k])
                    k += 1
            words[idx] = out
            for p in zip(out, out[1:]):
                pair_count[p] += f
                where[p].add(idx)
                changed.add(p)
        for p in changed:
            c = pair_count.get(p, 0)
            if c <= 0:
                pair_count.pop(p, None)
                where.pop(p, None)
            else:
                heapq.heappush(heap, (-c, p))
        if log_every and len(merges) % log_every == 0:
            print(f"  {len(merges)} merges, last {merged!r} ({-negc} times), {time.time() - t0:.1f} s", file=sys.stderr)
    return merges


def encode_word(word, ranks):
    """BPE on one pre-tokenized word: merge the lowest-ranked adjacent pair until none is left."""
    syms = list(to_symbols(word))
    while len(syms) > 1:
        best = min(((ranks.get(p, 1 << 30), i) for i, p in enumerate(zip(syms, syms[1:]))))
        if best[0] == 1 << 30:
            break
        i = best[1]
        syms[i:i + 2] = [syms[i] + syms[i + 1]]
    return syms


def encode(text, ranks):
    return [s for w in pretokenize(text) for s in encode_word(w, ranks)]


def decode(pieces):
    return bytes(CHAR_TO_BYTE[c] for p in pieces for c in p).decode("utf-8", errors="replace")


def tokenizer_json(merges):
    vocab = {}
    for b in sorted(BYTE_TO_CHAR, key=lambda b: ord(BYTE_TO_CHAR[b])):   # GPT-2's order: "!" is 0
        vocab[BYTE_TO_CHAR[b]] = len(vocab)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    special_id = len(vocab)
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": special_id, "content": SPECIAL, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": byte_level,
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }


def write_json(obj, path):
    """Hugging Face's own layout: one vocabulary entry and one merge per line (diff-friendly)."""
    text = json.dumps(obj, ensure_ascii=False, indent=1)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return len(text.encode("utf-8")) + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="/tmp/logitscope-train", help="folder with train.txt / val.txt from prepare_data.py")
    ap.add_argument("--input", nargs="*", help="train on these UTF-8 text files instead of WORK/train.txt")
    ap.add_argument("--vocab-size", type=int, default=3072, help="256 bytes + merges + 1 special token")
    ap.add_argument("--out", default="resources/tokenizers/brown-bpe/tokenizer.json")
    args = ap.parse_args()
    inputs = args.input or [os.path.join(args.work, "train.txt")]
    for p in inputs:
        if not os.path.exists(p):
            sys.exit(f"{p}: missing (run tools/train/prepare_data.py --work {args.work} first, or pass --input)")
    merges_wanted = args.vocab_size - 256 - 1
    if merges_wanted < 1:
        sys.exit("--vocab-size: must be at least 258")

    t0 = time.time()
    counts = count_words(inputs)
    print(f"{sum(counts.values())} words ({len(counts)} distinct) in {', '.join(inputs)}, {time.time() - t0:.1f} s",
          file=sys.stderr)
    merges = train(counts, merges_wanted)
    if len(merges) < merges_wanted:
        print(f"warning: only {len(merges)} merges possible on this text", file=sys.stderr)
    size = write_json(tokenizer_json(merges), args.out)
    print(f"wrote {args.out}: {256 + len(merges) + 1} tokens ({len(merges)} merges), {size} bytes, "
          f"{time.time() - t0:.1f} s", file=sys.stderr)

    # Self-check: decode(encode(s)) == s, and tokens per word on the validation split when there is one.
    ranks = {p: i for i, p in enumerate(merges)}
    for s in ["The committee members thought the afternoon meeting was extraordinary.",
              "Naïve café owners in Zürich paid 1,961 €.", "  two  spaces\tand a tab\n", "don't we'll I'm"]:
        pieces = encode(s, ranks)
        assert decode(pieces) == s, (s, pieces)
        print(f"  {len(pieces):3d} tokens  {'|'.join(pieces)}", file=sys.stderr)
    val = os.path.join(args.work, "val.txt")
    if not args.input and os.path.exists(val):
        words = tokens = 0
        with open(val, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    words += len(line.split())
                    tokens += len(encode(line, ranks))
        print(f"validation split: {tokens / words:.3f} tokens per word ({tokens} tokens, {words} words)", file=sys.stderr)


if __name__ == "__main__":
    main()
