#!/usr/bin/env python3
"""One SSM-SAM training step (forward, backward, AdamW) on one 1024 slice pair: the toolkit
(`sam-bench --ssm-train-step`) against the PyTorch twin (scripts/ssmsam_twin), same model file, same inputs,
same machine, in the same run, alternated, each in its own process (so each peak RSS is its own).

  python3 bench/ssmsam_train_step.py [--cases mobile_sam,vit_b] [--runs 3] [--rounds 2] [--work DIR]

Cases: mobile_sam = the real MobileSAM base on the cheap path (frozen features cached, heads trained);
       vit_b = a random-init vit_b (the real segment_anything code) with adapters through the frozen encoder.
The model is a fresh `ssmsam ssm init --seed 1` written as .pth + the twin's config (what the twin loads).
Per image and fixed (frozen features on the cheap path, the high-pass image with adapters) is computed once,
before the timed steps, on both sides. Both print their losses: the same weights and inputs give the same
loss at run 0 and, AdamW being the same, at every later run (a check that the two steps are the same step).
Each side runs with its defaults (no thread or BLAS variable set by this script).

  python3 bench/ssmsam_train_step.py twin MODEL.pth INPUT.safetensors RUNS     (one side; used by the above)
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCRIPTS = os.path.join(ROOT, "scripts")
sys.path.insert(0, SCRIPTS)
sys.path.insert(0, os.path.join(SCRIPTS, "stubs"))
from ssmsam_twin import SSMSAM, load_pth, read_config, sample_points, ssmsam_loss  # noqa: E402
from ssmsam_twin.encoders import tinyvit_encoder, vit_encoder  # noqa: E402
from ssmsam_twin.highpass import highpass  # noqa: E402
from twin_roundtrip import base_checkpoint, model_input, synthetic_slices  # noqa: E402
import train_step  # noqa: E402  (bench/: the processor line shared with the encoder train-step bench)


def processor():
    return f"{train_step.processor()}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}"


def make_inputs(path):
    support, mask, query, query_mask = synthetic_slices()
    m = torch.from_numpy(mask.astype(np.float32))
    points, labels = sample_points(m, 8, 8, generator=torch.Generator().manual_seed(0))
    query_label = query_mask.astype(np.float32)
    save_file({"query": model_input(query).contiguous(), "support": model_input(support).contiguous(),
               "support_mask": m[None, None].contiguous(), "query_label": torch.from_numpy(query_label)[None, None].contiguous(),
               "points": points[None].float().contiguous(), "point_labels": labels[None].float().contiguous()}, path)


def twin_side(model_path, input_path, runs):
    """The twin's step, printed like sam-bench's."""
    config = read_config(model_path[:-4] + ".json")
    encoder = tinyvit_encoder() if config.backbone == "tinyvit" else vit_encoder("vit_b")
    model = SSMSAM(encoder, config)
    load_pth(model, model_path)
    model.train()
    x = load_file(input_path)
    q, s, mask, label = x["query"], x["support"], x["support_mask"], x["query_label"]
    points, labels = x["points"], x["point_labels"].long()
    print(f"processor: {processor()}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{'adapters through the frozen encoder' if model.adapter is not None else 'cheap path (cached frozen features)'}")
    g = config.grid
    t0 = time.perf_counter()
    with torch.no_grad():
        if model.adapter is not None:
            fixed = (highpass(q), highpass(s))
        elif config.backbone == "tinyvit":
            def frozen(img):
                st = model._tinyvit_stages(img)
                return [F.adaptive_avg_pool2d(t, g) for t in st[:3]] + [model.image_encoder.neck(st[3])]
            fixed = (frozen(q), frozen(s))
        else:
            fixed = (model._vit_levels(q, None), model._vit_levels(s, None))
    print(f"per-image work (once): {time.perf_counter() - t0:.2f} s")

    def levels(frozen_or_hp, image):
        if model.adapter is not None:
            return model._vit_levels(image, frozen_or_hp)
        if config.backbone == "tinyvit":
            return [proj(f) for proj, f in zip(model.levels, frozen_or_hp[:3])] + [frozen_or_hp[3]]
        return list(frozen_or_hp)

    params = [p for _, p in model.trainable_parameters()]
    opt = torch.optim.AdamW(params, lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    times = []
    for r in range(runs + 1):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model.heads(levels(fixed[0], q), levels(fixed[1], s), mask, points, labels)["logits256"]
        loss, _, _ = ssmsam_loss(logits, label)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t
        if r > 0:
            times.append(dt)
        print(f"run {r}: {dt:.3f} s{' (warm-up)' if r == 0 else ''}, loss {loss.item():.7g}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"train step median {statistics.median(times):.3f} s, peak RSS {peak} MiB")


def side(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write("".join("    " + l + "\n" for l in r.stdout.splitlines()))
    if r.returncode != 0:
        sys.exit(f"ssmsam_train_step: {' '.join(cmd)} failed:\n{r.stderr.strip()}")
    m = re.search(r"train step median ([\d.]+) s, peak RSS (\d+) MiB", r.stdout)
    losses = [float(v) for v in re.findall(r"run \d+: [\d.]+ s.*?, loss ([-\d.e+]+)", r.stdout)]
    return float(m.group(1)), int(m.group(2)), losses


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "twin":
        return twin_side(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default="mobile_sam,vit_b")
    ap.add_argument("--runs", type=int, default=3, help="timed steps per process (after one warm-up)")
    ap.add_argument("--rounds", type=int, default=2, help="toolkit / twin alternations per case")
    ap.add_argument("--work", default="/tmp/ssmsam-train-bench")
    ap.add_argument("--ssmsam", default=os.path.join(ROOT, ".build", "release", "ssmsam"))
    ap.add_argument("--bench", default=os.path.join(ROOT, ".build", "release", "sam-bench"))
    args = ap.parse_args()
    for exe in (args.ssmsam, args.bench):
        if not os.access(exe, os.X_OK):
            sys.exit(f"ssmsam_train_step: {exe} is not built: swift build -c release --product {os.path.basename(exe)}")
    os.makedirs(args.work, exist_ok=True)
    print(f"processor: {processor()}")
    inputs = os.path.join(args.work, "inputs.safetensors")
    make_inputs(inputs)
    summary = []
    for case in args.cases.split(","):
        base = base_checkpoint(case, args.work)
        model = os.path.join(args.work, f"{case}.ssm.pth")
        subprocess.run([args.ssmsam, "ssm", "init", "--base", base, "--out", model, "--seed", "1"], check=True,
                       capture_output=True)
        results = {"toolkit": [], "twin": []}
        for k in range(args.rounds):
            for who, cmd in (("toolkit", [args.bench, "--ssm-train-step", model, inputs, str(args.runs)]),
                             ("twin", [sys.executable, os.path.abspath(__file__), "twin", model, inputs, str(args.runs)])):
                print(f"[{case}] {who}, round {k + 1}:", flush=True)
                results[who].append(side(cmd))
        tk, tw = results["toolkit"], results["twin"]
        loss_diff = max(abs(a - b) for x, y in zip(tk, tw) for a, b in zip(x[2], y[2]))
        t_tk, t_tw = statistics.median(r[0] for r in tk), statistics.median(r[0] for r in tw)
        summary.append(f"{case}: toolkit {t_tk:.3f} s, peak {max(r[1] for r in tk)} MiB; twin {t_tw:.3f} s, peak "
                       f"{max(r[1] for r in tw)} MiB; twin / toolkit time {t_tw / t_tk:.2f}; max loss difference {loss_diff:.2g}")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
