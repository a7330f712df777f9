#!/usr/bin/python3
"""Train aria-nano, a small BitNet b1.58 language model, from scratch on CPU.

The model is exactly what llama.cpp's `bitnet` architecture computes (docs/formats.md §5a), so
the exported GGUF runs the trained function:

- token embedding (full precision, tied with the output head);
- per layer: RMSNorm -> BitLinear q, k, v -> NEOX RoPE -> causal attention -> RMSNorm
  (attn_sub_norm) -> BitLinear o -> residual; RMSNorm -> BitLinear gate, up -> SiLU(gate) * up
  -> RMSNorm (ffn_sub_norm) -> BitLinear down -> residual;
- final RMSNorm, logits = h . embedding^T.

BitLinear (BitNet b1.58, docs/formats.md §4): weights ternarized per tensor with absmean
(gamma = mean|W|, W_t = clamp(round(W / gamma), -1, 1)), activations quantized per token to int8
with absmax; both through the straight-through estimator, so the latent weights stay in float
and learn while the forward pass sees only ternary weights and int8 activations.

Input: the uint16 token files written by scripts/nano/data.ts. Output: a checkpoint in
safetensors layout (float32 latent weights, HF-style names) plus config.json and a JSONL log.
Deterministic for a given seed and thread count (torch's CPU kernels are).

Usage: /usr/bin/python3 scripts/nano/train.py --data DIR --out DIR [--steps N] [--threads 2]
"""

import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def ternarize(w):
    gamma = w.abs().mean().clamp(min=1e-5)
    return (w / gamma).round().clamp(-1, 1) * gamma


def act_quant(x):
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    return (x * s).round().clamp(-128, 127) / s


class BitLinear(nn.Linear):
    def forward(self, x):
        w = self.weight
        wq = w + (ternarize(w) - w).detach()
        xq = x + (act_quant(x) - x).detach()
        return F.linear(xq, wq)


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(n_ctx, head_dim, base):
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.arange(n_ctx, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def rope_neox(x, cos, sin):
    # x: [B, H, T, D]; dimension i pairs with i + D/2 (NEOX style, as llama.cpp runs `bitnet`).
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, ff, eps = c["n_embd"], c["n_ff"], c["eps"]
        self.n_head = c["n_head"]
        self.attn_norm = RMSNorm(d, eps)
        self.q = BitLinear(d, d, bias=False)
        self.k = BitLinear(d, d, bias=False)
        self.v = BitLinear(d, d, bias=False)
        self.attn_sub_norm = RMSNorm(d, eps)
        self.o = BitLinear(d, d, bias=False)
        self.ffn_norm = RMSNorm(d, eps)
        self.gate = BitLinear(d, ff, bias=False)
        self.up = BitLinear(d, ff, bias=False)
        self.ffn_sub_norm = RMSNorm(ff, eps)
        self.down = BitLinear(ff, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, D = x.shape
        H = self.n_head
        a = self.attn_norm(x)
        q = self.q(a).view(B, T, H, D // H).transpose(1, 2)
        k = self.k(a).view(B, T, H, D // H).transpose(1, 2)
        v = self.v(a).view(B, T, H, D // H).transpose(1, 2)
        q, k = rope_neox(q, cos, sin), rope_neox(k, cos, sin)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(D // H)) + mask
        y = att.softmax(-1) @ v
        y = y.transpose(1, 2).reshape(B, T, D)
        x = x + self.o(self.attn_sub_norm(y))
        f = self.ffn_norm(x)
        m = F.silu(self.gate(f)) * self.up(f)
        return x + self.down(self.ffn_sub_norm(m))


class NanoLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c["n_vocab"], c["n_embd"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["n_layer"]))
        self.norm = RMSNorm(c["n_embd"], c["eps"])
        cos, sin = rope_tables(c["n_ctx"], c["n_embd"] // c["n_head"], c["rope_base"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        nn.init.normal_(self.embed.weight, std=0.02)
        for b in self.blocks:
            for lin in (b.q, b.k, b.v, b.o, b.gate, b.up, b.down):
                nn.init.normal_(lin.weight, std=0.02)

    def forward(self, idx):
        T = idx.shape[1]
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = self.embed(idx)
        cos, sin = self.cos[:T], self.sin[:T]
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return self.norm(x) @ self.embed.weight.t()


def load_ids(path):
    return torch.from_numpy(np.fromfile(path, dtype="<u2").astype(np.int64))


def batches(ids, n_ctx, batch, gen):
    hi = ids.numel() - n_ctx - 1
    while True:
        starts = torch.randint(0, hi, (batch,), generator=gen)
        x = torch.stack([ids[s : s + n_ctx] for s in starts])
        y = torch.stack([ids[s + 1 : s + n_ctx + 1] for s in starts])
        yield x, y


@torch.no_grad()
def evaluate(model, ids, n_ctx, max_windows):
    """Mean next-token loss over consecutive non-overlapping windows."""
    model.eval()
    total, count = 0.0, 0
    n = min(max_windows, (ids.numel() - 1) // n_ctx)
    for w in range(0, n, 8):
        rows = range(w, min(w + 8, n))
        x = torch.stack([ids[r * n_ctx : (r + 1) * n_ctx] for r in rows])
        y = torch.stack([ids[r * n_ctx + 1 : (r + 1) * n_ctx + 1] for r in rows])
        logits = model(x)
        total += F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), reduction="sum").item()
        count += y.numel()
    model.train()
    return total / count


HF_NAMES = {
    "embed.weight": "model.embed_tokens.weight",
    "norm.weight": "model.norm.weight",
}
BLOCK_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "q.weight": "self_attn.q_proj.weight",
    "k.weight": "self_attn.k_proj.weight",
    "v.weight": "self_attn.v_proj.weight",
    "attn_sub_norm.weight": "self_attn.attn_sub_norm.weight",
    "o.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "gate.weight": "mlp.gate_proj.weight",
    "up.weight": "mlp.up_proj.weight",
    "ffn_sub_norm.weight": "mlp.ffn_sub_norm.weight",
    "down.weight": "mlp.down_proj.weight",
}


def hf_name(name):
    if name in HF_NAMES:
        return HF_NAMES[name]
    _, layer, rest = name.split(".", 2)
    return f"model.layers.{layer}.{BLOCK_NAMES[rest]}"


def save_safetensors(path, tensors):
    """Write float32 tensors in the safetensors layout (8-byte header length, JSON, data)."""
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        data = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)  # a killed run never leaves a half-written checkpoint


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=1800)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--ctx", type=int, default=256)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--embd", type=int, default=256)
    p.add_argument("--ff", type=int, default=768)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--wd", type=float, default=0.05)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1234)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    vocab = json.load(open(os.path.join(a.data, "vocab.json")))
    n_vocab = len(vocab["tokens"]) + 1
    c = dict(n_vocab=n_vocab, n_embd=a.embd, n_ff=a.ff, n_layer=a.layers, n_head=a.heads,
             n_ctx=a.ctx, eps=1e-5, rope_base=10000.0)
    model = NanoLM(c)
    n_params = sum(p.numel() for p in model.parameters())
    train_ids = load_ids(os.path.join(a.data, "train.bin"))
    val_ids = load_ids(os.path.join(a.data, "val.bin"))

    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)

    def lr_at(step):
        if step < a.warmup:
            return a.lr * (step + 1) / a.warmup
        t = (step - a.warmup) / max(1, a.steps - a.warmup)
        return a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    os.makedirs(a.out, exist_ok=True)
    log = open(os.path.join(a.out, "train-log.jsonl"), "w")
    meta = dict(config=c, params=n_params, args=vars(a), train_tokens=train_ids.numel(),
                torch=torch.__version__)
    log.write(json.dumps(meta) + "\n")
    print(json.dumps(meta), flush=True)
    best = float("inf")
    t0 = time.time()
    it = batches(train_ids, a.ctx, a.batch, gen)
    for step in range(a.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x, y = next(it)
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, n_vocab), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        last = step + 1 == a.steps
        if (step + 1) % a.eval_every == 0 or last:
            val = evaluate(model, val_ids, a.ctx, 64)
            el = time.time() - t0
            rec = dict(step=step + 1, loss=round(loss.item(), 4), val_loss=round(val, 4),
                       val_ppl=round(math.exp(val), 2), lr=lr_at(step), elapsed_s=round(el, 1),
                       tokens=(step + 1) * a.batch * a.ctx, tok_per_s=round((step + 1) * a.batch * a.ctx / el))
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
            if val < best:
                best = val
                sd = {hf_name(k): v for k, v in model.state_dict().items()}
                save_safetensors(os.path.join(a.out, "model.safetensors"), sd)
                cfg = dict(c, step=step + 1, val_loss=val)
                with open(os.path.join(a.out, "config.json"), "w") as f:
                    json.dump(cfg, f, indent=1)
        elif step < 20 or step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f} {time.time() - t0:.1f}s", flush=True)
    log.close()


if __name__ == "__main__":
    sys.exit(main())
