#!/usr/bin/env python3
"""Writes the bf16 fixtures with real PyTorch: Tests/TensorCoreTests/Fixtures/bf16.safetensors.

- `in.values` (float32) and `bits`: torch's bfloat16 of each value (round to nearest even), as its 16 bits
  (stored as float32, exact below 2^24). Ties, subnormals, the largest finite values and infinities included.
- `in.a` (M x K), `in.w` (N x K) and `out.linear`: a @ w.T with both inputs rounded to bfloat16 by torch and
  the product accumulated in float64 (then float32): what a bf16 GEMM with fp32 accumulation must give,
  to float32 rounding.
Run:  python3 scripts/make_bf16_fixtures.py   (pip install torch==2.13.0+cpu safetensors)
"""
import os
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "TensorCoreTests", "Fixtures", "bf16.safetensors")
torch.manual_seed(0)

special = torch.tensor([0.0, -0.0, 1.0, -1.0, 1.00390625, 1.01171875,  # exact ties: to even (down, up)
                        1.0 + 2 ** -8 + 2 ** -20, 3.4028235e38, -3.4028235e38, 1e-40, -1e-40, 1.1754944e-38,
                        float("inf"), float("-inf"), 65504.0, 3.1415927], dtype=torch.float32)
values = torch.cat([special, torch.randn(2000) * torch.exp(torch.randn(2000) * 8)])
bits = values.to(torch.bfloat16).view(torch.int16).to(torch.int32) & 0xFFFF

m, k, n = 37, 300, 53
a = torch.randn(m, k)
w = torch.randn(n, k)
linear = (a.to(torch.bfloat16).double() @ w.to(torch.bfloat16).double().T).float()

save_file({"in.values": values, "bits": bits.float(), "in.a": a, "in.w": w, "out.linear": linear}, OUT,
          metadata={"params": "{}", "torch": torch.__version__})
print("wrote", OUT)
