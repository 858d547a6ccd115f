#!/usr/bin/env python3
"""Writes a copy of a checkpoint with one tensor perturbed, to see `ssmsam parity` fail where it should:
record a bundle from the original, run parity with the copy, and the first failing stage is the first one
downstream of that tensor.

Run:  python3 scripts/perturb_weight.py CKPT TENSOR OUT [--scale S] [--seed N]
      (adds S x std(tensor) x normal noise, default S 0.05; .pth/.pt or .safetensors, same format out;
      a config JSON beside CKPT is copied beside OUT)
"""
import argparse
import os
import shutil

import torch


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("tensor", help="the state-dict name, e.g. image_encoder.blocks.5.mlp.lin1.weight")
    p.add_argument("out")
    p.add_argument("--scale", type=float, default=0.05, help="noise in units of the tensor's standard deviation")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    safetensors = args.checkpoint.endswith(".safetensors")
    if safetensors:
        from safetensors.torch import load_file, save_file
        state = load_file(args.checkpoint)
    else:
        state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    if args.tensor not in state:
        near = [k for k in state if k.rsplit(".", 1)[0] in args.tensor][:5]
        raise SystemExit(f"{args.checkpoint}: no tensor {args.tensor} (e.g. {near or list(state)[:5]})")
    t = state[args.tensor]
    g = torch.Generator().manual_seed(args.seed)
    scale = args.scale * float(t.float().std()) if t.numel() > 1 and float(t.float().std()) > 0 else args.scale
    state[args.tensor] = (t.float() + scale * torch.randn(t.shape, generator=g)).to(t.dtype)
    if safetensors:
        save_file({k: v.contiguous() for k, v in state.items()}, args.out)
    else:
        torch.save(state, args.out)
    config = os.path.splitext(args.checkpoint)[0] + ".json"
    if os.path.exists(config):
        shutil.copyfile(config, os.path.splitext(args.out)[0] + ".json")
    print(f"wrote {args.out}: {args.tensor} {list(t.shape)} + {scale:.3g} x normal noise")


if __name__ == "__main__":
    main()
