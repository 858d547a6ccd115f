#!/usr/bin/env python3
"""An SSM-SAM zoo entry's exports opened by the real clients, with the same numbers as the toolkit.

  ssmsam zoo export ID@V --pth W/m.pth   -> the PyTorch twin loads m.pth + m.json strictly (read_config + load_pth)
  ssmsam zoo export ID@V --hf  W/hf      -> safetensors opens hf/model.safetensors (no warning); its tensors equal m.pth's
  the twin segments the entry's golden query from its golden support (no adaptation; the toolkit's points,
  from `ssmsam ssm predict --points-out`) and the logits equal the toolkit's `ssm predict --logits` on the exported model.

Run:   python3 scripts/check_zoo_export.py ssmsam/mobile-liver@1.0.0 [--ssmsam PATH] [--work DIR]
       (the entry installed in $SSMSAM_ZOO or ~/.cache/ssmsam/zoo; MobileSAM entries need only the twin's code)
Last line: `zoo export max abs diff X` (non-zero exit above --tolerance).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "stubs"))
from ssmsam_twin import SSMSAM, load_pth, read_config  # noqa: E402
from ssmsam_twin.encoders import tinyvit_encoder  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

MEAN = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"check_zoo_export: `{' '.join(cmd)}` failed ({r.returncode}):\n{r.stderr.strip()}")
    return r.stdout


def preprocess(path, size):
    """SAM's preprocessing: RGB, resize the longest side to `size` (Pillow bilinear), normalise, pad."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    scale = size / max(w, h)
    nw, nh = int(w * scale + 0.5), int(h * scale + 0.5)
    x = torch.from_numpy(np.array(img.resize((nw, nh), Image.BILINEAR))).permute(2, 0, 1)[None].float()
    x = (x - MEAN) / STD
    return F.pad(x, (0, size - nw, 0, size - nh)), (nh, nw), (h, w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("entry")
    ap.add_argument("--ssmsam", default=os.path.join(os.path.dirname(HERE), ".build/release/ssmsam"))
    ap.add_argument("--work", default=None)
    ap.add_argument("--tolerance", type=float, default=1e-3)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="zoo-export-")
    pth, hf = os.path.join(work, "m.pth"), os.path.join(work, "hf")
    for p in (pth, hf):
        if os.path.exists(p):
            sys.exit(f"check_zoo_export: {p} exists; give an empty --work")
    run([a.ssmsam, "zoo", "export", a.entry, "--pth", pth])
    run([a.ssmsam, "zoo", "export", a.entry, "--hf", hf])
    show = json.loads(run([a.ssmsam, "zoo", "show", a.entry, "--manifest"]))
    if show.get("family") != "ssm-sam":
        sys.exit(f"check_zoo_export: {a.entry} is not an ssm-sam entry")

    config = read_config(os.path.join(work, "m.json"))
    if config.backbone != "tinyvit":
        sys.exit("check_zoo_export: only MobileSAM (tinyvit) entries here: a ViT entry needs its base checkpoint for the twin's encoder")
    model = SSMSAM(tinyvit_encoder(), config)
    load_pth(model, pth)  # strict: every name, shape and dtype
    model.eval()
    print(f"twin: loaded {pth} strictly ({sum(v.numel() for v in model.state_dict().values())} values)")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        st = load_file(os.path.join(hf, "model.safetensors"))
    if caught:
        sys.exit(f"check_zoo_export: safetensors warned: {[str(w.message) for w in caught]}")
    own = {k: v for k, v in st.items() if not k.startswith("lslr.")}
    ref = model.state_dict()
    missing, unexpected = sorted(set(ref) - set(own)), sorted(set(own) - set(ref))
    # The twin's state dict may hold encoder tensors the toolkit never writes (TinyViT's classifier).
    from ssmsam_twin.checkpoint import unread_encoder_names
    missing = [m for m in missing if m not in unread_encoder_names(model)]
    if missing or unexpected:
        sys.exit(f"check_zoo_export: hf/model.safetensors vs the twin: missing {missing[:5]}, unexpected {unexpected[:5]}")
    d_weights = max(float((own[k] - ref[k].float()).abs().max()) for k in own)
    rates = load_file(os.path.join(hf, "model.safetensors"))
    lslr = {k: v for k, v in rates.items() if k.startswith("lslr.")}
    lslr_pth = torch.load(os.path.join(work, "m.lslr.pth"), weights_only=True)
    d_rates = max(float((lslr[k] - lslr_pth[k]).abs().max()) for k in lslr) if lslr else 0.0
    print(f"safetensors: {len(st)} tensors ({len(lslr)} learned rates), no warning; vs the twin's .pth: weights {d_weights:.3g}, rates {d_rates:.3g}")

    # The golden query from the golden support, toolkit and twin, at the entry's weights (no adaptation).
    golden = os.path.join(work, "golden")
    os.makedirs(golden)
    registry = os.environ.get("SSMSAM_ZOO", os.path.expanduser("~/.cache/ssmsam/zoo"))
    pkg = os.path.join(registry, "packages", show["id"].replace("/", "--"), show["version"], "golden")
    logits, points = os.path.join(work, "toolkit.logits.npy"), os.path.join(work, "points.json")
    run([a.ssmsam, "ssm", "predict", "--model", os.path.join(hf, "model.safetensors"), "--support", os.path.join(pkg, "support.png"),
         "--support-mask", os.path.join(pkg, "support_mask.png"), "--query", os.path.join(pkg, "query.png"),
         "--out", os.path.join(work, "toolkit.mask.png"), "--logits", logits, "--points-out", points])
    toolkit = np.load(logits)
    pts = json.load(open(points))
    size = config.image_size
    q, q_resized, q_size = preprocess(os.path.join(pkg, "query.png"), size)
    s, _, s_size = preprocess(os.path.join(pkg, "support.png"), size)
    m = np.array(Image.open(os.path.join(pkg, "support_mask.png")).convert("L")) > 127
    ms = Image.fromarray(m.astype(np.uint8) * 255).resize(preprocess_size(s_size, size), Image.NEAREST)
    mask = torch.zeros(1, 1, size, size)
    mask[0, 0, :ms.size[1], :ms.size[0]] = torch.from_numpy(np.array(ms) > 127).float()
    xy = torch.tensor([[[p["x"], p["y"]] for p in pts]], dtype=torch.float32)
    labels = torch.tensor([[1 if p["positive"] else 0 for p in pts]])
    with torch.no_grad():
        low = model(q, s, mask, xy, labels)
        up = F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)[..., :q_resized[0], :q_resized[1]]
        twin = F.interpolate(up, size=q_size, mode="bilinear", align_corners=False)[0, 0].numpy()
    toolkit = toolkit.reshape(twin.shape)
    d_logits = float(np.abs(twin - toolkit).max())
    agree = float(((twin > 0) == (toolkit > 0)).mean())
    print(f"golden query: twin vs toolkit logits max abs diff {d_logits:.3g} (logits up to {np.abs(toolkit).max():.3g}); masks agree on {agree:.4%} of pixels")
    worst = max(d_weights, d_rates, d_logits)
    print(f"zoo export max abs diff {worst:.3g}")
    sys.exit(0 if worst <= a.tolerance else 1)


def preprocess_size(hw, size):
    h, w = hw
    scale = size / max(w, h)
    return int(w * scale + 0.5), int(h * scale + 0.5)


if __name__ == "__main__":
    main()
