"""Trains kpc's repo model: a small Llama on the King James Bible, written as GGUF.

Offline tooling, not part of `npm install` or `npm test`. Needs Debian's python3-torch,
python3-sentencepiece, python3-numpy, libopenblas0-pthread and bible-kjv; run it with
/usr/bin/python3 (see scripts/train/README.md). Everything is seeded: the same machine
and packages give the same file.

  /usr/bin/python3 scripts/train/train.py --out models/kjv-llama-3m --steps 1200

Writes <out>/model-f32.gguf (tokenizer in its metadata) every --save-every steps and at
the end, plus <out>/training.json (losses, tokens seen, time, settings).
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_writer import GGUFWriter, T_BOOL, T_FLOAT32, T_INT32, T_STRING, T_UINT32  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--out", default="models/kjv-llama-3m")
p.add_argument("--work", default="build/train")
p.add_argument("--vocab", type=int, default=2048)
p.add_argument("--dim", type=int, default=256)
p.add_argument("--layers", type=int, default=8)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--kv-heads", type=int, default=2)
p.add_argument("--ffn", type=int, default=256)
p.add_argument("--context", type=int, default=256)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--steps", type=int, default=1200)
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--warmup", type=int, default=50)
p.add_argument("--save-every", type=int, default=100)
p.add_argument("--eval-every", type=int, default=100)
p.add_argument("--seed", type=int, default=1611)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--bench", type=int, default=0, help="time this many steps and exit")
args = p.parse_args()

ROPE_THETA = 10000.0
NORM_EPS = 1e-5
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
random.seed(args.seed)
np.random.seed(args.seed)
os.makedirs(args.out, exist_ok=True)
os.makedirs(args.work, exist_ok=True)

# ---- corpus: the KJV, one chapter per document, every 20th chapter held out ----
raw = subprocess.run(["bible", "-f", "gen1:1-rev22:21"], check=True, capture_output=True, text=True).stdout
chapters = []  # (key, [verse text])
for line in raw.splitlines():
    line = line.strip()
    if not line:
        continue
    ref, _, text = line.partition(" ")
    book_chapter = ref.split(":")[0]
    if not chapters or chapters[-1][0] != book_chapter:
        chapters.append((book_chapter, []))
    chapters[-1][1].append(text.strip())
train_docs = ["\n".join(v) for i, (_, v) in enumerate(chapters) if i % 20 != 19]
val_docs = ["\n".join(v) for i, (_, v) in enumerate(chapters) if i % 20 == 19]
print(f"corpus: {len(chapters)} chapters, {len(train_docs)} train, {len(val_docs)} validation", flush=True)
with open(os.path.join(args.work, "validation.txt"), "w") as f:
    f.write("\n\n".join(val_docs) + "\n")
with open(os.path.join(args.work, "train.txt"), "w") as f:
    f.write("\n\n".join(train_docs) + "\n")

# ---- tokenizer: SentencePiece BPE with byte fallback, trained on the train verses ----
sp_prefix = os.path.join(args.work, "kjv-sp")
verses_path = os.path.join(args.work, "train-verses.txt")
with open(verses_path, "w") as f:
    for d in train_docs:
        f.write(d + "\n")
spm.SentencePieceTrainer.train(
    input=verses_path, model_prefix=sp_prefix, vocab_size=args.vocab, model_type="bpe",
    character_coverage=1.0, byte_fallback=True, split_digits=True, normalization_rule_name="identity",
    remove_extra_whitespaces=False, add_dummy_prefix=True, allow_whitespace_only_pieces=True,
    unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=args.threads, shuffle_input_sentence=False,
    minloglevel=2)
sp = spm.SentencePieceProcessor(model_file=sp_prefix + ".model")
BOS, EOS = sp.bos_id(), sp.eos_id()


def stream(docs):
    ids = []
    for d in docs:
        ids.append(BOS)
        ids.extend(sp.encode(d))
        ids.append(EOS)
    return torch.tensor(ids, dtype=torch.long)


train_ids = stream(train_docs)
val_ids = stream(val_docs)
print(f"tokens: {len(train_ids)} train, {len(val_ids)} validation ({sum(map(len, train_docs)) / len(train_ids):.2f} chars/token)", flush=True)


# ---- model: llama (RMSNorm, rope on adjacent pairs as llama.cpp's LLM_ARCH_LLAMA, GQA, SwiGLU) ----
class RMSNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS) * self.weight


def rope_tables(head_dim, n):
    inv = 1.0 / (ROPE_THETA ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    ang = torch.outer(torch.arange(n, dtype=torch.float64), inv)
    return torch.cos(ang).float(), torch.sin(ang).float()


def rope(x, cos, sin):
    # x: [B, H, T, D]; pairs (x[2i], x[2i+1]) rotate by angle pos·θ^(−2i/D).
    x0, x1 = x[..., 0::2], x[..., 1::2]
    r0 = x0 * cos - x1 * sin
    r1 = x0 * sin + x1 * cos
    return torch.stack((r0, r1), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        d, hd = args.dim, args.dim // args.heads
        self.attn_norm = RMSNorm(d)
        self.wq = nn.Linear(d, args.heads * hd, bias=False)
        self.wk = nn.Linear(d, args.kv_heads * hd, bias=False)
        self.wv = nn.Linear(d, args.kv_heads * hd, bias=False)
        self.wo = nn.Linear(args.heads * hd, d, bias=False)
        self.ffn_norm = RMSNorm(d)
        self.w1 = nn.Linear(d, args.ffn, bias=False)
        self.w3 = nn.Linear(d, args.ffn, bias=False)
        self.w2 = nn.Linear(args.ffn, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        hd = args.dim // args.heads
        h = self.attn_norm(x)
        q = self.wq(h).view(B, T, args.heads, hd).transpose(1, 2)
        k = self.wk(h).view(B, T, args.kv_heads, hd).transpose(1, 2)
        v = self.wv(h).view(B, T, args.kv_heads, hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        group = args.heads // args.kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd) + mask
        y = F.softmax(att, dim=-1) @ v
        x = x + self.wo(y.transpose(1, 2).reshape(B, T, args.dim))
        h = self.ffn_norm(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(args.vocab, args.dim)
        self.blocks = nn.ModuleList(Block() for _ in range(args.layers))
        self.norm = RMSNorm(args.dim)
        cos, sin = rope_tables(args.dim // args.heads, args.context)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.register_buffer("mask", torch.full((args.context, args.context), float("-inf")).triu(1), persistent=False)
        for n, prm in self.named_parameters():
            if prm.dim() == 2:
                std = 0.02 / math.sqrt(2 * args.layers) if n.endswith(("wo.weight", "w2.weight")) else 0.02
                nn.init.normal_(prm, 0.0, std)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.embed(idx)
        cos, sin, mask = self.cos[:T], self.sin[:T], self.mask[:T, :T]
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return self.norm(x) @ self.embed.weight.t()  # tied output head


model = Llama()
n_params = sum(p.numel() for p in model.parameters())
print(f"model: {n_params} parameters", flush=True)
decay = [p for p in model.parameters() if p.dim() == 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
gen = torch.Generator().manual_seed(args.seed)


def batch(ids, generator):
    starts = torch.randint(0, len(ids) - args.context - 1, (args.batch,), generator=generator)
    x = torch.stack([ids[s:s + args.context] for s in starts.tolist()])
    y = torch.stack([ids[s + 1:s + 1 + args.context] for s in starts.tolist()])
    return x, y


def lr_at(step):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


@torch.no_grad()
def evaluate(ids, windows=24):
    """Mean next-token loss (nats) over fixed, non-overlapping windows spread over `ids`."""
    model.eval()
    stride = max(args.context + 1, (len(ids) - args.context - 1) // windows)
    losses = []
    for s in range(0, len(ids) - args.context - 1, stride)[:windows]:
        x = ids[s:s + args.context][None]
        y = ids[s + 1:s + 1 + args.context][None]
        losses.append(F.cross_entropy(model(x).view(-1, args.vocab), y.view(-1)).item())
    model.train()
    return sum(losses) / len(losses)


def export(path):
    w = GGUFWriter()
    hd = args.dim // args.heads
    w.add("general.architecture", T_STRING, "llama")
    w.add("general.name", T_STRING, "kpc KJV llama")
    w.add("general.file_type", T_UINT32, 0)
    w.add("general.alignment", T_UINT32, 32)
    w.add("general.license", T_STRING, "MIT")
    w.add("general.source.corpus", T_STRING, "King James Bible (public domain), Debian package bible-kjv")
    w.add("llama.context_length", T_UINT32, args.context)
    w.add("llama.embedding_length", T_UINT32, args.dim)
    w.add("llama.block_count", T_UINT32, args.layers)
    w.add("llama.feed_forward_length", T_UINT32, args.ffn)
    w.add("llama.attention.head_count", T_UINT32, args.heads)
    w.add("llama.attention.head_count_kv", T_UINT32, args.kv_heads)
    w.add("llama.rope.freq_base", T_FLOAT32, ROPE_THETA)
    w.add("llama.rope.dimension_count", T_UINT32, hd)
    w.add("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, NORM_EPS)
    w.add("llama.vocab_size", T_UINT32, args.vocab)
    w.add("tokenizer.ggml.model", T_STRING, "llama")
    pieces, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        pieces.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        types.append(2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 6 if sp.is_byte(i) else 5 if sp.is_unused(i) else 1)
    w.add_array("tokenizer.ggml.tokens", T_STRING, pieces)
    w.add_array("tokenizer.ggml.scores", T_FLOAT32, scores)
    w.add_array("tokenizer.ggml.token_type", T_INT32, types)
    w.add("tokenizer.ggml.bos_token_id", T_UINT32, BOS)
    w.add("tokenizer.ggml.eos_token_id", T_UINT32, EOS)
    w.add("tokenizer.ggml.unknown_token_id", T_UINT32, sp.unk_id())
    w.add("tokenizer.ggml.add_bos_token", T_BOOL, True)
    w.add("tokenizer.ggml.add_eos_token", T_BOOL, False)
    w.add("tokenizer.ggml.add_space_prefix", T_BOOL, True)
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    w.add_tensor("token_embd.weight", sd["embed.weight"])
    names = {"attn_norm": "attn_norm.weight", "wq": "attn_q.weight", "wk": "attn_k.weight", "wv": "attn_v.weight",
             "wo": "attn_output.weight", "ffn_norm": "ffn_norm.weight", "w1": "ffn_gate.weight", "w3": "ffn_up.weight",
             "w2": "ffn_down.weight"}
    for l in range(args.layers):
        for ours, theirs in names.items():
            w.add_tensor(f"blk.{l}.{theirs}", sd[f"blocks.{l}.{ours}.weight"])
    w.add_tensor("output_norm.weight", sd["norm.weight"])
    tmp = path + ".tmp"
    w.write(tmp)
    os.replace(tmp, path)


@torch.no_grad()
def sample(prompt="In the beginning", n=48):
    model.eval()
    ids = [BOS] + sp.encode(prompt)
    for _ in range(n):
        logits = model(torch.tensor([ids[-args.context:]]))[0, -1]
        ids.append(int(logits.argmax()))
    model.train()
    return sp.decode(ids[1:])


if args.bench:
    t0 = time.time()
    for step in range(args.bench):
        x, y = batch(train_ids, gen)
        loss = F.cross_entropy(model(x).view(-1, args.vocab), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    dt = time.time() - t0
    print(f"bench: {args.bench * args.batch * args.context / dt:.0f} tokens/s", flush=True)
    sys.exit(0)

log = {"settings": vars(args), "parameters": n_params, "train_tokens_available": len(train_ids),
       "validation_tokens": len(val_ids), "evals": []}
t0 = time.time()
ema = None
for step in range(args.steps):
    for g in opt.param_groups:
        g["lr"] = lr_at(step)
    x, y = batch(train_ids, gen)
    loss = F.cross_entropy(model(x).view(-1, args.vocab), y.view(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
    done = step + 1
    if done % 20 == 0:
        el = time.time() - t0
        print(f"step {done}/{args.steps} loss {ema:.3f} lr {lr_at(step):.2e} {done * args.batch * args.context / el:.0f} tok/s {el:.0f}s", flush=True)
    if done % args.eval_every == 0 or done == args.steps:
        tl, vl = evaluate(train_ids), evaluate(val_ids)
        log["evals"].append({"step": done, "train_loss": tl, "validation_loss": vl, "seconds": time.time() - t0})
        print(f"eval step {done}: train {tl:.3f} validation {vl:.3f}", flush=True)
    if done % args.save_every == 0 or done == args.steps:
        export(os.path.join(args.out, "model-f32.gguf"))
        log["tokens_seen"] = done * args.batch * args.context
        log["seconds"] = time.time() - t0
        log["sample_greedy"] = sample()
        with open(os.path.join(args.out, "training.json"), "w") as f:
            json.dump(log, f, indent=2)
print("sample:", log["sample_greedy"], flush=True)
