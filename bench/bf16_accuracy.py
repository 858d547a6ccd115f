#!/usr/bin/env python3
"""What --precision bf16 costs in accuracy: the toolkit's CLI in fp32 and in bf16 on the same inputs.

  python3 bench/bf16_accuracy.py [--slices 6] [--vit-b /tmp/ssmsam-bench/vit_b.pth]
MobileSAM on real CT slices (../shared/data/abdomen-ct/ct-full.nii.gz, window [-125, 275] HU; each slice is
the centre slice of one organ with a box from its label, a 5-pixel margin): embedding relative error
(||e_bf16 - e_fp32|| / ||e_fp32||) and the IoU of the bf16 mask against the fp32 mask, per slice. Then the
same on a random-init vit_b (bench/make_vit_b.py) for two slices. Prints the processor and the engine.
Needs nibabel, numpy, pillow and a CPU with AVX512-BF16 or AMX-BF16 (the CLI refuses bf16 elsewhere).
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np
import nibabel as nib
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CLI = os.path.join(ROOT, ".build", "release", "ssmsam")
DATA = os.path.join(ROOT, "..", "shared", "data", "abdomen-ct")
ORGANS = {"liver": 5, "spleen": 1, "right_kidney": 2, "left_kidney": 3}  # TotalSegmentator ids of labels-full

ap = argparse.ArgumentParser()
ap.add_argument("--slices", type=int, default=8)
ap.add_argument("--vit-b", default="/tmp/ssmsam-bench/vit_b.pth")
a = ap.parse_args()


def cli(*args):
    r = subprocess.run([CLI, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"ssmsam {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def cases(count):
    ct = nib.load(os.path.join(DATA, "ct-full.nii.gz")).get_fdata()
    lab = nib.load(os.path.join(DATA, "labels-full.nii.gz")).get_fdata()
    out = []
    for organ, i in ORGANS.items():
        zs = np.nonzero((lab == i).any(axis=(0, 1)))[0]
        for z in (zs[len(zs) // 2], zs[len(zs) // 4]):
            img, m = ct[:, :, z].T[::-1], (lab[:, :, z] == i).T[::-1]
            ys, xs = np.nonzero(m)
            grey = np.round((np.clip(img, -125, 275) + 125) / 400 * 255).astype(np.uint8)
            box = (xs.min() - 5, ys.min() - 5, xs.max() + 5, ys.max() + 5)
            out.append((f"{organ} z={z}", grey, box))
    return out[:count]


def compare(model, work, items):
    rows = []
    for name, grey, box in items:
        png = os.path.join(work, "slice.png")
        Image.fromarray(grey).save(png)
        emb, mask = {}, {}
        for p in ("fp32", "bf16"):
            cli("encode", "--model", model, "--image", png, "--out", os.path.join(work, f"e_{p}.npy"), "--precision", p)
            cli("segment", "--model", model, "--image", png, "--box", ",".join(map(str, box)),
                "--out", os.path.join(work, f"m_{p}.png"), "--precision", p)
            emb[p] = np.load(os.path.join(work, f"e_{p}.npy"))
            mask[p] = np.array(Image.open(os.path.join(work, f"m_{p}.png"))) > 127
            if mask[p].ndim == 3:
                mask[p] = mask[p][..., 0]
            os.remove(os.path.join(work, f"e_{p}.npy")); os.remove(os.path.join(work, f"m_{p}.png"))
        rel = np.linalg.norm(emb["bf16"] - emb["fp32"]) / np.linalg.norm(emb["fp32"])
        union = (mask["bf16"] | mask["fp32"]).sum()
        iou = (mask["bf16"] & mask["fp32"]).sum() / union if union else 1.0
        rows.append((name, rel, iou, int(mask["fp32"].sum())))
        print(f"  {name:22} embedding rel. error {rel:.2e}   mask IoU bf16 vs fp32 {iou:.4f}   ({rows[-1][3]} px)", flush=True)
    print(f"  worst: embedding {max(r[1] for r in rows):.2e}, IoU {min(r[2] for r in rows):.4f}; "
          f"mean IoU {np.mean([r[2] for r in rows]):.4f} over {len(rows)} slices")


with open("/proc/cpuinfo") as f:
    info = f.read()
field = lambda k: next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith(k)), "?")
print(f"processor: {field('model name')} (family {field('cpu family')} model {field('model')}); "
      + next(l for l in cli("doctor").splitlines() if l.startswith("GEMM engine")))
items = cases(a.slices)
with tempfile.TemporaryDirectory() as work:
    print("MobileSAM (official weights), real CT slices, box prompts:")
    compare("mobile_sam", work, items)
    if os.path.exists(a.vit_b):
        print(f"random-init vit_b ({a.vit_b}), the same prompts on two slices:")
        compare(a.vit_b, work, items[:2])
    else:
        print(f"vit_b: {a.vit_b} is missing (python3 bench/make_vit_b.py writes it)")
