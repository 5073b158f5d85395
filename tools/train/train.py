#!/usr/bin/env python3
"""Train the Logitscope default model (a small Llama) on the prepared Brown corpus, on the CPU.

Usage (see README.md):
  python3 tools/train/train.py --work /tmp/logitscope-train --device cuda          # the shipped run
  nice -n 15 python3 tools/train/train.py --work /tmp/logitscope-train --time-budget-min 36  # CPU, time-bounded

Reads  WORK/train.txt, WORK/val.txt, WORK/tokenizer.model (spm_encode does the encoding)
Writes WORK/ckpt_best.pt, WORK/ckpt_last.pt, WORK/metrics.json, log lines on stdout.

Every sentence is trained as `<s> sentence </s>`; consecutive sentences of one document are
packed into sequences of at most --seq-len tokens (never split), the rest is padding that
carries no loss. The LR schedule (linear warm-up, cosine decay) follows
progress = max(step / max_steps, elapsed / time_budget), so a shared, busy CPU still ends
with a fully decayed learning rate; the log records the step count reached.
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import LlamaConfig, LlamaForCausalLM  # noqa: E402

BOS, EOS = 1, 2


def encode_docs(work, split):
    """-> list of documents, each a list of sentences (lists of token ids, no BOS/EOS)."""
    cache = os.path.join(work, f"{split}.docs.json")
    if os.path.exists(cache):  # written below; lets a machine without spm_encode train
        return json.load(open(cache))
    path = os.path.join(work, f"{split}.txt")
    lines = open(path, encoding="utf-8").read().split("\n")
    nonblank = [l for l in lines if l.strip()]
    out = subprocess.run(["spm_encode", f"--model={os.path.join(work, 'tokenizer.model')}",
                          "--output_format=id"], input="\n".join(nonblank) + "\n",
                         capture_output=True, text=True, check=True).stdout.split("\n")
    ids = [[int(t) for t in l.split()] for l in out[: len(nonblank)]]
    docs, cur, k = [], [], 0
    for l in lines:
        if l.strip():
            cur.append(ids[k]); k += 1
        elif cur:
            docs.append(cur); cur = []
    if cur:
        docs.append(cur)
    assert k == len(nonblank)
    with open(cache, "w") as f:
        json.dump(docs, f)
    return docs


def pack(docs, seq_len):
    """Greedy packing of whole `<s> s </s>` units into rows of seq_len+1 tokens."""
    rows = []
    for doc in docs:
        row = []
        for s in doc:
            unit = ([BOS] + s + [EOS])[: seq_len + 1]
            if len(row) + len(unit) > seq_len + 1:
                rows.append(row); row = []
            row += unit
        if row:
            rows.append(row)
    x = torch.zeros(len(rows), seq_len, dtype=torch.long)
    y = torch.full((len(rows), seq_len), -100, dtype=torch.long)
    for i, r in enumerate(rows):
        r = torch.tensor(r)
        x[i, : len(r) - 1] = r[:-1]
        y[i, : len(r) - 1] = r[1:]
    y[y == BOS] = -100  # "</s> -> <s>" is not something to learn or to score
    return x, y


def sentence_batches(docs, seq_len, batch):
    """Each sentence on its own: `<s> s </s>`, loss on s and </s> (the metric we report)."""
    sents = sorted((s for d in docs for s in d), key=len)
    for i in range(0, len(sents), batch):
        chunk = [([BOS] + s + [EOS])[: seq_len + 1] for s in sents[i: i + batch]]
        t = max(len(c) for c in chunk) - 1
        x = torch.zeros(len(chunk), t, dtype=torch.long)
        y = torch.full((len(chunk), t), -100, dtype=torch.long)
        for j, c in enumerate(chunk):
            c = torch.tensor(c)
            x[j, : len(c) - 1] = c[:-1]
            y[j, : len(c) - 1] = c[1:]
        yield x, y


@torch.no_grad()
def evaluate(model, docs, seq_len, bf16):
    model.eval()
    dev = model.lm_head.weight.device
    tot, n = 0.0, 0
    for x, y in sentence_batches(docs, seq_len, 64):
        x, y = x.to(dev), y.to(dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        tot += F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1),
                               ignore_index=-100, reduction="sum").item()
        n += int((y != -100).sum())
    model.train()
    return tot / n, n


def unigram_baseline(train_docs, val_docs, vocab):
    counts = torch.ones(vocab, dtype=torch.float64)  # add-one smoothing
    for d in train_docs:
        for s in d:
            counts += torch.bincount(torch.tensor(s + [EOS]), minlength=vocab).double()
    logp = torch.log(counts / counts.sum())
    nll, n = 0.0, 0
    for d in val_docs:
        for s in d:
            ids = torch.tensor(s + [EOS])
            nll -= logp[ids].sum().item(); n += len(ids)
    return nll / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/logitscope-train")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--hidden", type=int, default=320)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--head-dim", type=int, default=40)
    ap.add_argument("--intermediate", type=int, default=864)
    ap.add_argument("--tie", action="store_true")
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--max-steps", type=int, default=3000)
    ap.add_argument("--time-budget-min", type=float, default=0.0,
                    help="also end (and decay the LR) by wall time; 0 = no time limit")
    ap.add_argument("--eval-every-min", type=float, default=4.0)
    ap.add_argument("--eval-every-steps", type=int, default=400,
                    help="evaluate (and keep the best checkpoint) every N steps; 0 = every --eval-every-min")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-bf16", action="store_true", help="fp32 matmuls (bf16 autocast is ~3-6x faster on CPUs with avx512_bf16)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--dropout", type=float, default=0.1, help="residual dropout, training only")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--tag", default="", help="suffix for ckpt/metrics file names")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    bf16 = not args.no_bf16

    cfg = LlamaConfig(vocab_size=args.vocab_size, hidden_size=args.hidden,
                      intermediate_size=args.intermediate, num_hidden_layers=args.layers,
                      num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                      head_dim=args.head_dim, tie_word_embeddings=args.tie)
    dev = torch.device(args.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    model = LlamaForCausalLM(cfg, args.dropout).to(dev)
    print(f"args {vars(args)}", flush=True)
    print(f"config {cfg.to_dict()}", flush=True)
    print(f"params {model.num_params():,}", flush=True)

    t0 = time.time()
    train_docs = encode_docs(args.work, "train")
    val_docs = encode_docs(args.work, "val")
    X, Y = pack(train_docs, args.seq_len)
    ntrain_tok = int((Y != -100).sum())
    uni = unigram_baseline(train_docs, val_docs, cfg.vocab_size)
    print(f"data: {X.shape[0]} packed rows, {ntrain_tok:,} train target tokens, "
          f"fill {ntrain_tok / Y.numel():.1%}; encode {time.time() - t0:.1f}s", flush=True)
    print(f"unigram baseline (train counts, add-one) on val: loss {uni:.4f} ppl {math.exp(uni):.1f}", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    budget = args.time_budget_min * 60 if args.time_budget_min > 0 else float("inf")
    start = time.time()
    last_eval = start
    best = float("inf")
    step, epoch, seen = 0, 0, 0
    history = []
    order = torch.randperm(X.shape[0])
    pos = 0
    progress = 0.0
    ema = None
    while progress < 1.0:
        if pos + args.batch > len(order):
            epoch += 1
            order = torch.randperm(X.shape[0]); pos = 0
        idx = order[pos: pos + args.batch]; pos += args.batch
        x, y = X[idx].to(dev), Y[idx].to(dev)
        elapsed = time.time() - start
        progress = max(step / args.max_steps, elapsed / budget)
        if step < args.warmup:
            lr = args.lr * (step + 1) / args.warmup
        else:
            c = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
            lr = args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * c)
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, cfg.vocab_size), y.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += int((y != -100).sum())
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % 50 == 0:
            el = time.time() - start
            print(f"step {step} ep {epoch} loss {ema:.4f} lr {lr:.2e} gnorm {gn:.2f} "
                  f"tok {seen:,} {seen / el:.0f} tok/s elapsed {el / 60:.1f}m", flush=True)
        due = (step % args.eval_every_steps == 0) if args.eval_every_steps else \
            (time.time() - last_eval > args.eval_every_min * 60)
        progress = max(step / args.max_steps, (time.time() - start) / budget)
        if due or progress >= 1.0:
            last_eval = time.time()
            vl, _ = evaluate(model, val_docs, args.seq_len, bf16)
            el = time.time() - start
            history.append({"step": step, "epoch": epoch, "elapsed_min": el / 60, "train_loss_ema": ema, "val_loss": vl})
            print(f"EVAL step {step} val loss {vl:.4f} ppl {math.exp(vl):.2f}", flush=True)
            state = {"config": cfg.to_dict(), "model": model.state_dict(), "step": step, "val_loss": vl}
            torch.save(state, os.path.join(args.work, f"ckpt_last{args.tag}.pt"))
            if vl < best:
                best = vl
                torch.save(state, os.path.join(args.work, f"ckpt_best{args.tag}.pt"))
    train_min = (time.time() - start) / 60

    # final numbers in fp32 on the best checkpoint
    sd = torch.load(os.path.join(args.work, f"ckpt_best{args.tag}.pt"), map_location=dev)
    model.load_state_dict(sd["model"])
    vl32, nval = evaluate(model, val_docs, args.seq_len, False)
    metrics = {
        "config": cfg.to_dict(), "params": model.num_params(),
        "steps": step, "best_step": sd["step"], "epochs_done": epoch + pos / len(order),
        "train_target_tokens_per_epoch": ntrain_tok, "tokens_seen": seen,
        "train_minutes": train_min, "batch": args.batch, "seq_len": args.seq_len, "lr": args.lr,
        "bf16_autocast": bf16, "threads": args.threads, "device": str(dev),
        "dropout": args.dropout, "weight_decay": args.weight_decay, "args": vars(args),
        "val_target_tokens": nval, "val_loss": vl32, "val_ppl": math.exp(vl32),
        "unigram_val_loss": uni, "unigram_val_ppl": math.exp(uni),
        "history": history,
    }
    with open(os.path.join(args.work, f"metrics{args.tag}.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(f"FINAL best step {sd['step']} val loss (fp32) {vl32:.4f} ppl {math.exp(vl32):.2f} | "
          f"unigram ppl {math.exp(uni):.1f} | {train_min:.1f} min, {step} steps", flush=True)


if __name__ == "__main__":
    main()
