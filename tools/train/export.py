#!/usr/bin/env python3
"""Export a training checkpoint as a Hugging Face Llama folder.

Usage: python3 tools/train/export.py --work /tmp/logitscope-train --out resources/models/logitscope-brown

Writes config.json, generation_config.json, model.safetensors (F16, HF tensor names),
tokenizer.model (copied from WORK), tokenizer_config.json, special_tokens_map.json.
The safetensors file is written by hand (the `safetensors` package is not needed):
8-byte little-endian header length, JSON header {name: {dtype, shape, data_offsets}},
then the raw little-endian tensor bytes.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

# Renders the conversation as plain text (no role markers): this model was trained on
# ordinary English sentences only, so "chat" means "continue my text".
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] != 'system' %}"
    "{{ message['content'] }}"
    "{% if not loop.last %}{{ ' ' }}{% endif %}"
    "{% endif %}"
    "{% endfor %}"
)


def write_safetensors(path, tensors, metadata=None):
    """tensors: ordered list of (name, np.ndarray little-endian float16/float32)."""
    dtypes = {np.dtype("float16"): "F16", np.dtype("float32"): "F32", np.dtype("int64"): "I64"}
    header, off = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, a in tensors:
        n = a.nbytes
        header[name] = {"dtype": dtypes[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)  # align the data start to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, a in tensors:
            f.write(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes())


def read_safetensors(path):
    """-> {name: np.ndarray}; used by sample.py / check scripts to verify the export."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dt = {"F16": np.float16, "F32": np.float32, "BF16": None, "I64": np.int64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=np.dtype(dt[info["dtype"]]).newbyteorder("<")).reshape(info["shape"])
    return out


def hf_config(c):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": c["bos_token_id"],
        "eos_token_id": c["eos_token_id"],
        "pad_token_id": None,
        "head_dim": c["head_dim"],
        "hidden_act": "silu",
        "hidden_size": c["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": c["intermediate_size"],
        "max_position_embeddings": c["max_position_embeddings"],
        "mlp_bias": False,
        "num_attention_heads": c["num_attention_heads"],
        "num_hidden_layers": c["num_hidden_layers"],
        "num_key_value_heads": c["num_key_value_heads"],
        "pretraining_tp": 1,
        "rms_norm_eps": c["rms_norm_eps"],
        "rope_scaling": None,
        "rope_theta": c["rope_theta"],
        "tie_word_embeddings": c["tie_word_embeddings"],
        "torch_dtype": "float16",
        "use_cache": True,
        "vocab_size": c["vocab_size"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/logitscope-train")
    ap.add_argument("--ckpt", default="ckpt_best.pt")
    ap.add_argument("--out", default="resources/models/logitscope-brown")
    args = ap.parse_args()

    sd = torch.load(os.path.join(args.work, args.ckpt), map_location="cpu")
    c = sd["config"]
    state = sd["model"]
    os.makedirs(args.out, exist_ok=True)

    names = sorted(state.keys())
    if c["tie_word_embeddings"]:
        names.remove("lm_head.weight")  # HF ties it to model.embed_tokens.weight on load
    tensors = []
    for k in names:
        a = state[k].detach().float().numpy()
        if np.abs(a).max() > 65504:
            sys.exit(f"{k} overflows float16")
        tensors.append((k, a.astype(np.float16)))
    write_safetensors(os.path.join(args.out, "model.safetensors"), tensors, {"format": "pt"})

    def dump(name, obj):
        with open(os.path.join(args.out, name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")

    dump("config.json", hf_config(c))
    dump("generation_config.json", {
        "bos_token_id": c["bos_token_id"],
        "eos_token_id": c["eos_token_id"],
        "do_sample": True,
        "temperature": 0.8,
        "top_p": 0.95,
        "max_new_tokens": 64,
    })
    shutil.copyfile(os.path.join(args.work, "tokenizer.model"), os.path.join(args.out, "tokenizer.model"))
    dump("tokenizer_config.json", {
        "tokenizer_class": "LlamaTokenizer",
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": None,
        "legacy": True,
        "clean_up_tokenization_spaces": False,
        "spaces_between_special_tokens": False,
        "model_max_length": c["max_position_embeddings"],
        "chat_template": CHAT_TEMPLATE,
    })
    dump("special_tokens_map.json", {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"exported {len(tensors)} tensors from {args.ckpt} (step {sd.get('step')}) to {args.out}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
