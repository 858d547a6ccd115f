#!/usr/bin/env python3
"""The hand-off between the toolkit and the PyTorch twin, both ways, on real-size models:

  toolkit model (ssmsam ssm init) -> M.pth + M.json -> the twin loads it strictly -> same outputs as the
  toolkit -> the twin saves it (save_pth + write_config) -> the toolkit loads that -> same outputs again.

Two bases: the real MobileSAM (TinyViT, the cheap path; `scripts/setup` puts it in the models directory)
and a random-init vit_b written by the real segment_anything code (adapters through the encoder).
The inputs are 1024 x 1024 synthetic slices (so SAM's resize and padding are the identity and the twin
needs no preprocessing of its own): a support image with its mask and a query image. The toolkit picks
the prompt points from the support mask and writes them (`ssm predict --points-out`); the twin reads the
same points. Outputs compared: the query's full-resolution mask logits.

Run:   python3 scripts/twin_roundtrip.py [--bases mobile_sam,vit_b] [--ssmsam PATH] [--work DIR]
Needs: pip install torch==2.13.0+cpu segment-anything safetensors numpy pillow; a built toolkit
       (swift build -c release, or scripts/setup). Exits non-zero when a difference exceeds --tolerance.
Last line: `round trip max abs diff X`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "stubs"))  # torchvision / timm stubs: segment_anything imports on the CPU wheel
from ssmsam_twin import SSMSAM, load_pth, read_config, save_pth, write_config  # noqa: E402
from ssmsam_twin.encoders import tinyvit_encoder, vit_encoder  # noqa: E402

PIXEL_MEAN = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
PIXEL_STD = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
SIZE = 1024


def synthetic_slices(seed=0):
    """A support slice, its mask (an ellipse) and a query slice with the organ moved a little, as 8-bit RGB."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)

    def slice_with_organ(cx, cy, rx, ry):
        inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
        body = ((xx - 512) / 430) ** 2 + ((yy - 512) / 360) ** 2 <= 1
        grey = 30 + 70 * body + 90 * inside + rng.normal(0, 6, size=(SIZE, SIZE))
        rgb = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
        return rgb, inside

    support, mask = slice_with_organ(600, 430, 120, 90)
    query, _ = slice_with_organ(612, 440, 112, 86)
    return support, mask, query


def model_input(rgb):
    """SAM's preprocessing of a 1024 x 1024 image: normalise (resize and padding are the identity)."""
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    return (x - PIXEL_MEAN) / PIXEL_STD


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"twin_roundtrip: `{' '.join(cmd)}` failed ({r.returncode}):\n{r.stderr.strip()}")
    return r.stdout


def toolkit_predict(ssmsam, model, paths, tag, work):
    """The toolkit's full-resolution logits (H, W) for the query, and the prompt points it used."""
    logits, points = os.path.join(work, f"{tag}.logits.npy"), os.path.join(work, f"{tag}.points.json")
    run([ssmsam, "ssm", "predict", "--model", model, "--support", paths["support"], "--support-mask", paths["mask"],
         "--query", paths["query"], "--out", os.path.join(work, f"{tag}.mask.png"), "--logits", logits,
         "--points-out", points])
    with open(points) as f:
        pts = json.load(f)
    return np.load(logits).reshape(SIZE, SIZE), pts


def twin_model(base, pth, config_json):
    config = read_config(config_json)
    encoder = tinyvit_encoder() if config.backbone == "tinyvit" else vit_encoder(base)
    model = SSMSAM(encoder, config)
    load_pth(model, pth)  # strict: every name, shape and dtype, nothing missing or unexpected
    return model.eval()


def twin_predict(model, slices, points):
    support, mask, query = slices
    xy = torch.tensor([[[p["x"], p["y"]] for p in points]], dtype=torch.float32)
    labels = torch.tensor([[1 if p["positive"] else 0 for p in points]])
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    with torch.no_grad():
        low = model(model_input(query), model_input(support), m, xy, labels)
        full = F.interpolate(low, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return full[0, 0].numpy()


def base_checkpoint(name, work):
    if name == "mobile_sam":
        models = os.environ.get("SSMSAM_MODELS", os.path.expanduser("~/.cache/ssmsam/models"))
        path = os.path.join(models, "mobile_sam.safetensors")
        if not os.path.exists(path):
            sys.exit(f"twin_roundtrip: {path} not found: run scripts/setup (it fetches and converts MobileSAM)")
        return path
    from segment_anything import sam_model_registry
    torch.manual_seed(0)
    path = os.path.join(work, f"{name}_random.pth")
    torch.save(sam_model_registry[name]().state_dict(), path)
    return path


def round_trip(name, ssmsam, slices, paths, work):
    print(f"[{name}] base", flush=True)
    base = base_checkpoint(name, work)
    m1 = os.path.join(work, f"{name}.ssm.pth")
    run([ssmsam, "ssm", "init", "--base", base, "--out", m1, "--seed", "7"])
    t1, points = toolkit_predict(ssmsam, m1, paths, f"{name}.toolkit1", work)
    print(f"[{name}] toolkit wrote {os.path.basename(m1)}; {len(points)} support points", flush=True)
    model = twin_model(name, m1, m1[:-4] + ".json")
    p1 = twin_predict(model, slices, points)
    d1 = float(np.abs(p1 - t1).max())
    print(f"[{name}] twin loaded it strictly: max abs diff {d1:.3g} (logits up to {np.abs(t1).max():.3g})", flush=True)
    m2 = os.path.join(work, f"{name}.twin.pth")
    save_pth(model, m2, include_encoder=True)
    write_config(model.config, m2[:-4] + ".json")
    t2, points2 = toolkit_predict(ssmsam, m2, paths, f"{name}.toolkit2", work)
    if points2 != points:
        sys.exit(f"twin_roundtrip: [{name}] the toolkit picked other points from the same support after the round trip")
    d2 = float(np.abs(t2 - p1).max())
    d3 = float(np.abs(t2 - t1).max())
    print(f"[{name}] toolkit loaded the twin's file: vs twin {d2:.3g}, vs the toolkit's first output {d3:.3g}", flush=True)
    return max(d1, d2, d3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bases", default="mobile_sam,vit_b", help="comma-separated: mobile_sam, vit_b, vit_l, vit_h")
    ap.add_argument("--ssmsam", default=os.path.join(ROOT, ".build", "release", "ssmsam"))
    ap.add_argument("--work", default=None, help="keep the files here (default: a temporary directory)")
    ap.add_argument("--tolerance", type=float, default=1e-3, help="max abs logit difference allowed")
    args = ap.parse_args()
    if not os.access(args.ssmsam, os.X_OK):
        sys.exit(f"twin_roundtrip: no toolkit at {args.ssmsam}: run `swift build -c release` (or scripts/setup)")
    torch.set_num_threads(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        slices = synthetic_slices()
        paths = dict(support=os.path.join(work, "support.png"), mask=os.path.join(work, "support_mask.png"),
                     query=os.path.join(work, "query.png"))
        Image.fromarray(slices[0]).save(paths["support"])
        Image.fromarray((slices[1] * 255).astype(np.uint8)).save(paths["mask"])
        Image.fromarray(slices[2]).save(paths["query"])
        worst = max(round_trip(b.strip(), args.ssmsam, slices, paths, work) for b in args.bases.split(","))
    print(f"round trip max abs diff {worst:.3g}")
    if worst > args.tolerance:
        sys.exit(1)


if __name__ == "__main__":
    main()
