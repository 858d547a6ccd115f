#!/usr/bin/env python3
"""Writes Tests/TensorCoreTests/Fixtures/attention_grad.safetensors with real PyTorch: the parity
fixture of FusedAttention and Variable.relativePositionAttention.

Each case CASE stores its inputs (`CASE.in.q`, `.k`, `.v`, `.relH`, `.relW`), the output (`CASE.out`),
a random upstream gradient (`CASE.grad_out`) and torch autograd's gradient of every input
(`CASE.grad.NAME`) of loss = sum(out * grad_out), for SAM's attention with decomposed relative
positions composed from plain torch ops (segment_anything's Attention + add_decomposed_rel_pos, with
the rel terms given as inputs). Inputs are float32; the reference is computed in float64 from them and
stored as float32, so the fixture measures the Swift kernel's error and not torch's. The scale of each
case is in the metadata params as CASE.scale.
Run:  python3 scripts/make_attention_fixtures.py   (pip install torch==2.13.0+cpu safetensors numpy)
"""
import json, os
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "TensorCoreTests", "Fixtures", "attention_grad.safetensors")


def attention(q, k, v, relH, relW, scale):
    bh, h, w, d = q.shape
    n = h * w
    attn = (q.reshape(bh, n, d) * scale) @ k.transpose(-2, -1)
    attn = attn.view(bh, h, w, h, w) + relH[..., :, None] + relW[..., None, :]
    return attn.view(bh, n, n).softmax(dim=-1) @ v


def case(name, gen, bh, h, w, d, tensors, params):
    n = h * w
    shapes = {"q": (bh, h, w, d), "k": (bh, n, d), "v": (bh, n, d), "relH": (bh, h, w, h), "relW": (bh, h, w, w)}
    inputs = {k: torch.randn(s, generator=gen) for k, s in shapes.items()}
    grad_out = torch.randn(bh, n, d, generator=gen)
    scale = d ** -0.5
    leaves = {k: x.double().requires_grad_(True) for k, x in inputs.items()}
    out = attention(**leaves, scale=scale)
    (out * grad_out.double()).sum().backward()
    for k, x in inputs.items():
        tensors[f"{name}.in.{k}"] = x.contiguous()
        tensors[f"{name}.grad.{k}"] = leaves[k].grad.float().contiguous()
    tensors[f"{name}.out"] = out.detach().float().contiguous()
    tensors[f"{name}.grad_out"] = grad_out
    params[f"{name}.scale"] = scale


def main():
    gen = torch.Generator().manual_seed(20240611)
    tensors, params = {}, {}
    case("window", gen, bh=3, h=5, w=5, d=8, tensors=tensors, params=params)    # one row block, square
    case("blocks", gen, bh=2, h=12, w=13, d=4, tensors=tensors, params=params)  # N = 156: two row blocks, H != W
    save_file(tensors, OUT, metadata={"params": json.dumps(params), "torch": torch.__version__})
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
