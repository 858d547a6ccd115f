#!/usr/bin/env python3
"""Checks `ssmsam zoo export --hf` against the real transformers: the folder loads into SamModel with no
missing, unexpected or mismatched keys and no warnings, and computes what the toolkit computes.

  python3 scripts/check_hf_export.py CHECKPOINT [--config ARCH.json] [--image IMG] [--point X,Y[,L]]... [--box X0,Y0,X1,Y1]

CHECKPOINT is anything `ssmsam zoo add` takes (a .pth, a .safetensors with its .json, a Hugging Face folder).
In a scratch folder the script adds it to a fresh registry, exports it with `zoo export --hf`, loads the export
with `SamModel.from_pretrained(..., output_loading_info=True)` (Python warnings and transformers' log at WARNING
and above captured), runs it on the image and prompts (the toolkit's preprocessing: PIL bilinear resize of the
longest side, normalisation, zero padding), and compares its low-res masks and IoU with `ssmsam segment --logits`
on the original checkpoint and on the exported folder. Exit 0 when everything matches within --tolerance
(max |difference| / max |toolkit logits|); the last line is `OK ...` or `FAIL ...`.
(pip install torch==2.13.0+cpu transformers safetensors numpy pillow; the ssmsam binary built; no PYTHONPATH needed)
"""
import argparse
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from record_reference import apply_coords, parse_box, parse_point, preprocess, read_rgb  # noqa: E402

# record_reference puts the torchvision / timm stubs on the path for segment_anything; transformers must not see them.
sys.path[:] = [p for p in sys.path if os.path.abspath(p) != os.path.join(HERE, "stubs")]
for name in [m for m in sys.modules if m.split(".")[0] in ("torchvision", "timm")]:
    del sys.modules[name]


def ssmsam(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL ssmsam {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def load_quietly(folder):
    """SamModel.from_pretrained with every warning captured: (model, loading info, warnings)."""
    from transformers import SamModel
    from transformers.utils import logging as hf_logging
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setLevel(logging.WARNING)
    hf_logging.get_logger().addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, info = SamModel.from_pretrained(folder, output_loading_info=True)
    hf_logging.get_logger().removeHandler(handler)
    messages = [str(w.message) for w in caught] + [line for line in log.getvalue().splitlines() if line.strip()]
    return model.eval(), info, messages


def toolkit_segment(binary, model, image, points, box, work, name):
    """`ssmsam segment --multimask --logits`: low-res logits (1, K, 4g, 4g) and the printed IoU (4 decimals)."""
    logits = os.path.join(work, f"{name}.npy")
    args = ["segment", "--model", model, "--image", image, "--multimask", "--logits", logits, "--out", os.path.join(work, f"{name}.png")]
    for x, y, label in points:
        args += ["--point", f"{x},{y},{label}"]
    if box:
        args += ["--box", ",".join(str(v) for v in box)]
    out = ssmsam(binary, *args)
    iou = [float(v) for v in re.findall(r"mask \d+: predicted IoU (-?[0-9.]+)", out)]
    return np.load(logits), np.array(iou, dtype=np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--config", help="architecture JSON for zoo add (default: the checkpoint's own, or its shapes)")
    ap.add_argument("--image", help="an RGB image (default: a seeded random 96 x 128 image)")
    ap.add_argument("--point", action="append", type=parse_point, default=[])
    ap.add_argument("--box", type=parse_box)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--ssmsam", default=os.path.join(HERE, "..", ".build", "debug", "ssmsam"))
    ap.add_argument("--keep", help="keep the scratch files in this folder")
    args = ap.parse_args()
    checkpoint = os.path.abspath(args.checkpoint)

    work = args.keep or tempfile.mkdtemp(prefix="check-hf-export-")
    os.makedirs(work, exist_ok=True)
    try:
        image = args.image
        if image is None:
            image = os.path.join(work, "image.png")
            Image.fromarray(np.random.default_rng(15).integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(image)
        rgb = read_rgb(image)
        points = args.point or ([] if args.box else [[rgb.shape[1] * 0.4, rgb.shape[0] * 0.55, 1], [rgb.shape[1] * 0.7, rgb.shape[0] * 0.3, 0]])

        registry, export = os.path.join(work, "registry"), os.path.join(work, "export")
        shutil.rmtree(export, ignore_errors=True)
        add = ["zoo", "add", checkpoint, "--id", "check/hf-export", "--version", "1.0.0", "--registry", registry]
        ssmsam(args.ssmsam, *add + (["--config", args.config] if args.config else []))
        ssmsam(args.ssmsam, "zoo", "export", "check/hf-export@1.0.0", "--hf", export, "--registry", registry)

        model, info, messages = load_quietly(export)
        counts = {k: len(info[k]) for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs")}
        print(f"transformers {__import__('transformers').__version__}: missing {counts['missing_keys']}, unexpected {counts['unexpected_keys']}, "
              f"mismatched {counts['mismatched_keys']}, errors {counts['error_msgs']}, warnings {len(messages)}")
        for m in messages:
            print(f"  warning: {m}")
        for k in ("missing_keys", "unexpected_keys", "mismatched_keys"):
            if info[k]:
                print(f"  {k}: {sorted(info[k])[:10]}")
        c = model.config
        print(f"config: vision {c.vision_config.hidden_size}x{c.vision_config.num_hidden_layers} (heads {c.vision_config.num_attention_heads}, "
              f"image {c.vision_config.image_size}, window {c.vision_config.window_size}, global {list(c.vision_config.global_attn_indexes)}), "
              f"prompt {c.prompt_encoder_config.hidden_size}, decoder heads {c.mask_decoder_config.num_attention_heads} "
              f"eps {c.mask_decoder_config.layer_norm_eps}")

        size = c.vision_config.image_size
        pixels, _ = preprocess(rgb, size)
        framed = [apply_coords(p[:2], rgb.shape[:2], size) for p in points]
        kw = {"pixel_values": pixels, "multimask_output": True}
        if points:
            kw["input_points"] = torch.tensor([[framed]], dtype=torch.float32)
            kw["input_labels"] = torch.tensor([[[int(p[2]) for p in points]]], dtype=torch.int64)
        if args.box:
            corners = apply_coords(args.box[:2], rgb.shape[:2], size) + apply_coords(args.box[2:], rgb.shape[:2], size)
            kw["input_boxes"] = torch.tensor([[corners]], dtype=torch.float32)
        with torch.no_grad():
            out = model(**kw)
        hf_masks, hf_iou = out.pred_masks[0].numpy(), out.iou_scores[0, 0].numpy()

        ok = not any(counts.values()) and not messages
        for name, reference in (("checkpoint", checkpoint), ("exported folder", export)):
            logits, iou = toolkit_segment(args.ssmsam, reference, image, points, args.box, work, name.replace(" ", "_"))
            scale = max(float(np.abs(logits).max()), 1e-12)
            diff = float(np.abs(hf_masks - logits).max()) if hf_masks.shape == logits.shape else float("inf")
            iou_diff = float(np.abs(hf_iou - iou).max()) if hf_iou.shape == iou.shape else float("inf")
            good = diff <= args.tolerance * scale and iou_diff <= 1e-4  # the IoU is printed with 4 decimals
            ok &= good
            print(f"segment --model {name}: low-res logits {list(logits.shape)} max abs diff {diff:.3e} (rel {diff / scale:.3e}), "
                  f"IoU max abs diff {iou_diff:.1e} (printed to 4 decimals): {'ok' if good else 'DIFFERS'}")
        print(("OK" if ok else "FAIL") + f" {os.path.basename(checkpoint.rstrip('/'))}: transformers loads the export cleanly and matches the toolkit"
              if ok else "FAIL: see above")
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
