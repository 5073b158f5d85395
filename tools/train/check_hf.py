#!/usr/bin/env python3
"""Optional check, on a machine that has `transformers` (not needed for training):
the exported folder loads as LlamaForCausalLM, its logits match tools/train/model.py, greedy
generation matches, and the HF tokenizer gives the same ids as spm_encode.

Usage: python3 tools/train/check_hf.py resources/models/logitscope-brown [EXPECTED_IDS_JSON]
EXPECTED_IDS_JSON: {"text": [ids...], ...} from spm_encode (with BOS prepended).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sample import load_folder  # noqa: E402
from model import generate  # noqa: E402


def main():
    folder = sys.argv[1]
    expected = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else {}
    import transformers
    from transformers import AutoTokenizer, LlamaForCausalLM
    print("transformers", transformers.__version__, "torch", torch.__version__)
    try:
        hf = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    except TypeError:
        hf = LlamaForCausalLM.from_pretrained(folder, torch_dtype=torch.float32).eval()
    print("hf config: rope_theta", getattr(hf.config, "rope_theta", None),
          getattr(hf.config, "rope_parameters", None), "kv heads", hf.config.num_key_value_heads)
    ours = load_folder(folder)
    ok = True
    tok = None
    for slow in (False, True):
        try:
            tok = AutoTokenizer.from_pretrained(folder, use_fast=not slow)
        except Exception as e:  # noqa: BLE001
            print("tokenizer", "slow" if slow else "fast", "failed:", e)
            continue
        for text, ids in expected.items():
            got = tok(text)["input_ids"]
            same = got == ids
            ok &= same
            print(f"tokenizer({'slow' if slow else 'fast'}) {text!r}: {'OK' if same else 'MISMATCH'} {got} vs {ids}")
        try:
            r = tok.apply_chat_template([{"role": "user", "content": "The city of"}], tokenize=False, add_generation_prompt=True)
            print("chat template renders:", repr(r))
        except Exception as e:  # noqa: BLE001
            print("chat template failed:", e)
    for text, ids in expected.items():
        x = torch.tensor([ids])
        with torch.no_grad():
            a = hf(x).logits
            b = ours(x)
        d = (a - b).abs().max().item()
        ok &= d < 1e-3
        g_hf = hf.generate(x, max_new_tokens=40, do_sample=False, eos_token_id=2, pad_token_id=2)[0].tolist()
        g_ours = generate(ours, ids, 40)
        same = g_hf[: len(g_ours)] == g_ours
        ok &= same
        print(f"{text!r}: max |logit diff| {d:.2e}; greedy identical: {same}")
        if tok is not None:
            print("   hf  :", tok.decode(g_hf))
    print("ALL OK" if ok else "SOMETHING DIFFERS")


if __name__ == "__main__":
    main()
