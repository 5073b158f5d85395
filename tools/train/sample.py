#!/usr/bin/env python3
"""Load an exported folder (our own safetensors reader, F16 -> F32) and print samples.

Usage: python3 tools/train/sample.py resources/models/logitscope-brown [--ckpt WORK/ckpt_best.pt]

Greedy, temperature 0.3 / 1.0 / 1.5 and top-p 0.9 continuations of a few prompts, using a
KV-less loop (the whole prefix is re-run for each token). With --ckpt it also checks that the
F16 export gives the same greedy tokens and nearly the same logits as the F32 checkpoint.
Tokenisation uses Debian's spm_encode / spm_decode on the folder's tokenizer.model.
"""
import argparse
import json
import math
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import LlamaConfig, LlamaForCausalLM, generate  # noqa: E402
from export import read_safetensors  # noqa: E402

PROMPTS = ["The", "He said that", "The city of", "She looked at the", "In the morning"]


def load_folder(folder):
    hc = json.load(open(os.path.join(folder, "config.json")))
    cfg = LlamaConfig(vocab_size=hc["vocab_size"], hidden_size=hc["hidden_size"],
                      intermediate_size=hc["intermediate_size"], num_hidden_layers=hc["num_hidden_layers"],
                      num_attention_heads=hc["num_attention_heads"], num_key_value_heads=hc["num_key_value_heads"],
                      head_dim=hc["head_dim"], max_position_embeddings=hc["max_position_embeddings"],
                      rms_norm_eps=hc["rms_norm_eps"], rope_theta=hc["rope_theta"],
                      tie_word_embeddings=hc["tie_word_embeddings"])
    m = LlamaForCausalLM(cfg)
    w = read_safetensors(os.path.join(folder, "model.safetensors"))
    sd = {k: torch.from_numpy(v.astype("float32")) for k, v in w.items()}
    if cfg.tie_word_embeddings:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    m.load_state_dict(sd, strict=True)
    return m.eval()


def encode(model_file, text):
    out = subprocess.run(["spm_encode", f"--model={model_file}", "--output_format=id"],
                         input=text + "\n", capture_output=True, text=True, check=True).stdout
    return [1] + [int(t) for t in out.split()]


def decode(model_file, ids):
    ids = [i for i in ids if i not in (1, 2)]
    out = subprocess.run(["spm_decode", f"--model={model_file}", "--input_format=id"],
                         input=" ".join(map(str, ids)) + "\n", capture_output=True, text=True, check=True).stdout
    return out.rstrip("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--ckpt")
    ap.add_argument("--max-new", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val", metavar="WORK", help="also report the validation loss of the exported (F16) weights")
    args = ap.parse_args()
    torch.set_num_threads(2)
    tok = os.path.join(args.folder, "tokenizer.model")
    m = load_folder(args.folder)

    if args.ckpt:
        ref = LlamaForCausalLM(LlamaConfig(**torch.load(args.ckpt, map_location="cpu")["config"]))
        ref.load_state_dict(torch.load(args.ckpt, map_location="cpu")["model"])
        ref.eval()
        ids = torch.tensor([encode(tok, "The jury said that the city of Atlanta")])
        with torch.no_grad():
            d = (m(ids) - ref(ids)).abs().max().item()
        g1 = generate(m, ids[0].tolist(), 30)
        g2 = generate(ref, ids[0].tolist(), 30)
        print(f"F16 export vs F32 checkpoint: max |dlogit| {d:.4f}, greedy tokens identical: {g1 == g2}\n")

    if args.val:
        from train import encode_docs, evaluate
        vl, n = evaluate(m, encode_docs(args.val, "val"), 128, False)
        print(f"exported weights: val loss {vl:.4f} ppl {math.exp(vl):.2f} over {n} tokens\n", flush=True)

    for p in PROMPTS:
        ids = encode(tok, p)
        out = generate(m, ids, args.max_new)
        end = "</s>" if out[-1] == 2 else "(no EOS)"
        print(f"greedy   | {decode(tok, out)} {end}")
    print()
    for p in PROMPTS[:2]:
        ids = encode(tok, p)
        for t, tp in [(0.3, 1.0), (1.0, 1.0), (1.5, 1.0), (1.0, 0.9)]:
            g = torch.Generator().manual_seed(args.seed)
            out = generate(m, ids, args.max_new, temperature=t, top_p=tp, generator=g)
            end = "</s>" if out[-1] == 2 else "(no EOS)"
            print(f"T={t} top_p={tp} | {decode(tok, out)} {end}")
        print()


if __name__ == "__main__":
    main()
