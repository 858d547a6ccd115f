#!/usr/bin/env python3
"""Writes a random-init SAM vit_b (real segment_anything code) and a 1024 input for the benchmarks.

  PYTHONPATH=scripts/stubs python3 bench/make_vit_b.py /tmp/ssmsam-bench
writes vit_b.safetensors, vit_b.pth (state dict, zip format) and input.safetensors (1x3x1024x1024).
"""
import os, sys
import torch
from safetensors.torch import save_file
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "stubs"))
from segment_anything import sam_model_registry

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ssmsam-bench"
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
sam = sam_model_registry["vit_b"]()
with torch.no_grad():  # the rel-pos tables start at zero: make them count
    for name, p in sam.named_parameters():
        if "rel_pos" in name:
            p.copy_(torch.randn(p.shape) * 0.02)
sd = {k: v.contiguous() for k, v in sam.state_dict().items()}
save_file(sd, os.path.join(out, "vit_b.safetensors"))
torch.save(sd, os.path.join(out, "vit_b.pth"))
save_file({"input": torch.randn(1, 3, 1024, 1024)}, os.path.join(out, "input.safetensors"))
print("wrote", out)
