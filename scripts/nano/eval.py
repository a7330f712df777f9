#!/usr/bin/python3
"""Held-out perplexity of a train.py checkpoint, computed in PyTorch exactly as `aria perplexity`
scores a text (src/generation/perplexity.ts, llama-perplexity's method): chunks of --ctx tokens,
BOS first, the second half of each chunk scored. This is the value "recorded at training time"
that the engine's own perplexity must stay within 1% of (tests/nano).

Usage: /usr/bin/python3 scripts/nano/eval.py --run DIR --tokens FILE.bin [--ctx 256] [--chunks N]
FILE.bin: uint16 ids of the held-out text as `aria perplexity` tokenizes it (BOS first).
Prints one JSON object.
"""

import argparse
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

from train import NanoLM, hf_name


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, e in header.items():
            if name == "__metadata__":
                continue
            b, en = e["data_offsets"]
            f.seek(base + b)
            out[name] = torch.from_numpy(np.frombuffer(f.read(en - b), dtype="<f4").copy()).view(e["shape"])
        return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True)
    p.add_argument("--tokens", required=True)
    p.add_argument("--ctx", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--chunks", type=int, default=0, help="score only the first N chunks (0 = all)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    c = json.load(open(os.path.join(a.run, "config.json")))
    model = NanoLM({k: c[k] for k in ("n_vocab", "n_embd", "n_ff", "n_layer", "n_head", "n_ctx", "eps", "rope_base")})
    sd = load_safetensors(os.path.join(a.run, "model.safetensors"))
    model.load_state_dict({k: sd[hf_name(k)] for k in model.state_dict().keys()})
    model.eval()
    ids = torch.from_numpy(np.fromfile(a.tokens, dtype="<u2").astype(np.int64))
    bos = int(ids[0])
    n_chunks = ids.numel() // a.ctx
    if a.chunks > 0:
        n_chunks = min(n_chunks, a.chunks)
    first = a.ctx // 2
    nll, count = 0.0, 0
    with torch.no_grad():
        for s in range(0, n_chunks, 8):
            rows = []
            for ch in range(s, min(s + 8, n_chunks)):
                r = ids[ch * a.ctx : (ch + 1) * a.ctx].clone()
                r[0] = bos
                rows.append(r)
            x = torch.stack(rows)
            logp = F.log_softmax(model(x).double(), dim=-1)
            tgt = x[:, first + 1 :]
            nll -= logp[:, first : a.ctx - 1].gather(-1, tgt.unsqueeze(-1)).sum().item()
            count += tgt.numel()
    print(json.dumps(dict(perplexity=math.exp(nll / count), tokens=count, chunks=n_chunks, ctx=a.ctx,
                          step=c.get("step"))))


if __name__ == "__main__":
    main()
