#!/usr/bin/env python3
"""One training step through SAM vit_b's frozen image encoder at 1024x1024 in PyTorch autograd: the
PyTorch side of `sam-bench --train-step` (bench/README.md).

  python3 bench/train_step.py make WEIGHTS.safetensors INPUT.safetensors [--seed 0]
  python3 bench/train_step.py run WEIGHTS.safetensors INPUT.safetensors RUNS [--threads 2] [--dump GRADS.safetensors]

make: the real `segment_anything` ImageEncoderViT for vit_b with its default (random) init from
      `torch.manual_seed(seed)`; pos_embed and the rel-pos tables, zero at init, get N(0, 0.02) so that
      they count, and the neck's two LayerNorm2d get weight 1 + N(0, 0.1) and bias N(0, 0.1) so that the
      loss is not constant (see make). Writes the state dict as `image_encoder.*`, and INPUT with `image` (1,3,1024,1024)
      N(0, 1) and `tokens` (12,1,64,64,768) N(0, 0.02), one token map added before each block.
run:  encoder weights frozen, tokens a leaf that requires grad;
        x = patch_embed(image) + pos_embed;  for block i: x = block(x + tokens[i])
        loss = sum over the taps after blocks 3, 6, 9, 12 of mean(neck(tap)^2);  loss.backward()
      Times forward + backward RUNS times after one warm-up. The last line is
      `train step median S s, peak RSS M MiB` (the process's peak). --dump writes `loss` (1,) and
      `grad.tokens` (12,1,64,64,768) of the last run, for a parity check.
"""
import argparse, os, platform, re, resource, statistics, sys, time
from functools import partial

import torch
from safetensors.torch import load_file, save_file

# segment_anything imports torchvision, which does not load with the CPU wheel: the repo's stub.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "stubs"))
from segment_anything.modeling.image_encoder import ImageEncoderViT  # noqa: E402

PREFIX = "image_encoder."
DEPTH = 12
TAPS = (2, 5, 8, 11)  # after blocks 3, 6, 9, 12 (1-based)


def vit_b():
    """segment_anything.build_sam._build_sam's encoder for vit_b."""
    return ImageEncoderViT(depth=DEPTH, embed_dim=768, img_size=1024, mlp_ratio=4,
                           norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=12, patch_size=16,
                           qkv_bias=True, use_rel_pos=True, global_attn_indexes=(2, 5, 8, 11), window_size=14,
                           out_chans=256)


def make(a):
    torch.manual_seed(a.seed)
    enc = vit_b()
    with torch.no_grad():
        for name, p in enc.named_parameters():
            if name == "pos_embed" or "rel_pos" in name:
                p.normal_(0, 0.02)
        # The neck ends in a LayerNorm2d: with its default weight 1 and bias 0, mean(neck^2) is 1 for any
        # input (up to eps) and the gradient all but vanishes (1e-11). Perturbed, the loss depends on the tokens.
        for norm in (enc.neck[1], enc.neck[3]):
            norm.weight.add_(torch.randn(norm.weight.shape) * 0.1)
            norm.bias.normal_(0, 0.1)
    save_file({PREFIX + k: v.contiguous() for k, v in enc.state_dict().items()}, a.weights)
    image = torch.randn(1, 3, 1024, 1024)
    tokens = torch.randn(DEPTH, 1, 64, 64, 768) * 0.02
    save_file({"image": image, "tokens": tokens}, a.input, metadata={"seed": str(a.seed)})
    print(f"wrote {a.weights} and {a.input} (seed {a.seed})")


def processor():
    """The processor's name, cpu family and model (from /proc/cpuinfo) and the CPU count, for every figure."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return f"{platform.processor() or 'unknown'}, {os.cpu_count()} CPUs"
    name = re.search(r"model name\s*:\s*(.*)", text)
    fam, model = re.search(r"cpu family\s*:\s*(\d+)", text), re.search(r"\nmodel\s*:\s*(\d+)", text)
    return (f"{name.group(1) if name else platform.processor()} (family {fam.group(1) if fam else '?'} "
            f"model {model.group(1) if model else '?'}), {os.cpu_count()} CPUs")


def run(a):
    torch.set_num_threads(a.threads)
    print(f"processor: {processor()}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(not set)')}")
    enc = vit_b().eval()
    weights = load_file(a.weights)
    enc.load_state_dict({k[len(PREFIX):]: v for k, v in weights.items() if k.startswith(PREFIX)}, strict=True)
    enc.requires_grad_(False)
    inputs = load_file(a.input)
    image, tokens = inputs["image"], inputs["tokens"].requires_grad_(True)

    def step():
        tokens.grad = None
        x = enc.patch_embed(image) + enc.pos_embed
        taps = []
        for i, block in enumerate(enc.blocks):
            x = block(x + tokens[i])
            if i in TAPS:
                taps.append(x)
        loss = sum((enc.neck(t.permute(0, 3, 1, 2)) ** 2).mean() for t in taps)
        loss.backward()
        return loss.detach()

    t0 = time.perf_counter()
    step()
    print(f"warm-up: {time.perf_counter() - t0:.2f} s")
    times = []
    for r in range(a.runs):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
        print(f"run {r + 1}: {times[-1]:.2f} s (loss {loss.item():.6g})")
    if a.dump:
        save_file({"loss": loss.reshape(1).contiguous(), "grad.tokens": tokens.grad.contiguous()}, a.dump,
                  metadata={"loss": repr(loss.item())})
        print(f"wrote {a.dump}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"train step median {statistics.median(times):.2f} s, peak RSS {peak:.0f} MiB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="write random vit_b encoder weights and the input")
    m.add_argument("weights")
    m.add_argument("input")
    m.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("run", help="time the training step")
    r.add_argument("weights")
    r.add_argument("input")
    r.add_argument("runs", type=int)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--dump", metavar="GRADS.safetensors", help="write the loss and d loss / d tokens of the last run")
    c = sub.add_parser("compare", help="compare two --dump files (e.g. the toolkit's and PyTorch's)")
    c.add_argument("a")
    c.add_argument("b")
    a = ap.parse_args()
    if a.command == "run" and a.runs < 1:
        ap.error("RUNS must be at least 1")
    {"make": make, "run": run, "compare": compare}[a.command](a)


def compare(a):
    """Loss and d loss / d tokens of two dumps: max |a - b| relative to max |b|."""
    x, y = load_file(a.a), load_file(a.b)
    for k in ("loss", "grad.tokens"):
        err = (x[k].double() - y[k].double()).abs().max().item() / max(y[k].abs().max().item(), 1e-30)
        print(f"{k}: max abs difference {err:.3g} x max |{os.path.basename(a.b)}|")


if __name__ == "__main__":
    main()
