#!/usr/bin/env python3
"""Writes Tests/TensorCoreTests/Fixtures/highpass.safetensors with real PyTorch.

SSM-SAM's handcrafted high-pass feature: `fft(x, rate)` of EVP / SAM-Adapter's prompt generator, copied
below as it stands there (torch.fft with norm="forward", fftshift over all dimensions, a centred
low-frequency square zeroed, abs of the real part). The Swift side is `Tensor.highPassFiltered(rate:)`
(HighPassTests).

Only the outputs are stored (float32, as torch computes them): the inputs are 8-bit values made by
a 32-bit LCG in integer arithmetic that HighPassTests repeats exactly, so the file stays under 300 KB
with a 1 x 3 x 128 x 128 case in it. Each case's input sum is stored too, so a generator that
drifted apart fails loudly instead of comparing different images. Cases:
  random_64    1 x 3 x 64 x 64   uniform noise in [-1, 1], rate 0.25
  odd_33x40    2 x 3 x 33 x 40   odd / non-square planes, rate 0.25
  smooth_128   1 x 3 x 128 x 128 a smooth image (bowl + ramp) plus noise, in [0, 1], rate 0.25
  rate_0.1     1 x 2 x 36 x 45   rate 0.1
  flat_8x64    1 x 1 x 8 x 64    l = 5 > H/2: the reference's row slice starts at -1 (Python: the last row)
  line_1x5     1 x 2 x 1 x 5     one-row planes, rate 1 (l = 1; row slice [-1:1])
Run:  python3 scripts/make_highpass_fixtures.py   (pip install torch==2.13.0+cpu safetensors)
"""
import json, os
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "TensorCoreTests", "Fixtures", "highpass.safetensors")


def fft(x, rate):
    # EVP / SAM-Adapter (PromptGenerator.fft), verbatim apart from the device.
    mask = torch.zeros(x.shape).to(x.device)
    w, h = x.shape[-2:]
    line = int((w * h * rate) ** .5 // 2)
    mask[:, :, w//2-line:w//2+line, h//2-line:h//2+line] = 1

    fft = torch.fft.fftshift(torch.fft.fft2(x, norm="forward"))
    # high pass: 1-mask, low pass: mask
    fft = fft * (1 - mask)
    fr = fft.real
    fi = fft.imag

    fft_hires = torch.fft.ifftshift(torch.complex(fr, fi))
    inv = torch.fft.ifft2(fft_hires, norm="forward").real

    inv = torch.abs(inv)
    return inv


def lcg_bytes(seed, count):
    """The high byte of a 32-bit LCG (Numerical Recipes' constants), `count` times. HighPassTests.bytes."""
    state, out = seed & 0xFFFFFFFF, []
    for _ in range(count):
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        out.append(state >> 24)
    return out


def signed_noise(shape, seed):
    """Uniform 8-bit noise mapped to [-1, 1] in float32: (b - 127.5) / 127.5. HighPassTests.signedNoise."""
    b = torch.tensor(lcg_bytes(seed, shape[0] * shape[1] * shape[2] * shape[3]), dtype=torch.uint8).reshape(shape)
    return (b.float() - 127.5) / 127.5


def smooth_image(shape, seed):
    """A smooth 8-bit image (a bowl plus a ramp, brighter per channel) plus +-12 noise, / 255 in float32.
    All integer arithmetic, so HighPassTests.smoothImage repeats it exactly."""
    n, c, hh, ww = shape
    noise = lcg_bytes(seed, n * c * hh * ww)
    peak = (hh // 2) * (hh - 1 - hh // 2) + (ww // 2) * (ww - 1 - ww // 2)
    vals, k = [], 0
    for _ in range(n):
        for ch in range(c):
            for i in range(hh):
                for j in range(ww):
                    bowl = i * (hh - 1 - i) + j * (ww - 1 - j)
                    s = 30 + bowl * 140 // peak + (i + 2 * j) * 40 // (hh + 2 * ww) + 10 * ch
                    vals.append(min(255, max(0, s + noise[k] % 25 - 12)))
                    k += 1
    return torch.tensor(vals, dtype=torch.uint8).reshape(shape).float() / 255


CASES = [  # name, shape, input kind, seed, rate
    ("random_64", (1, 3, 64, 64), "signed", 1, 0.25),
    ("odd_33x40", (2, 3, 33, 40), "signed", 2, 0.25),
    ("smooth_128", (1, 3, 128, 128), "smooth", 3, 0.25),
    ("rate_0.1", (1, 2, 36, 45), "signed", 4, 0.1),
    ("flat_8x64", (1, 1, 8, 64), "signed", 5, 0.25),
    ("line_1x5", (1, 2, 1, 5), "signed", 6, 1.0),
]

tensors, params = {}, {"cases": [c[0] for c in CASES]}
for name, shape, kind, seed, rate in CASES:
    x = signed_noise(shape, seed) if kind == "signed" else smooth_image(shape, seed)
    out = fft(x, rate)
    exact = fft(x.double(), rate)  # torch in float64, for the record: how far torch's own float32 is
    peak = out.abs().max().item()
    torch_err = (out.double() - exact).abs().max().item() / peak
    tensors[f"{name}.out"] = out.contiguous()
    params[name] = {"shape": list(shape), "input": kind, "seed": seed, "rate": rate,
                    "in_sum": x.double().sum().item(), "line": int((shape[2] * shape[3] * rate) ** .5 // 2)}
    print(f"{name:11s} {str(shape):18s} rate {rate:<4} line {params[name]['line']:2d}  "
          f"max |out| {peak:.4f}  torch float32 vs float64: {torch_err:.2e} of the max")

save_file(tensors, OUT, metadata={"params": json.dumps(params)})
print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")
