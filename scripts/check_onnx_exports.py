#!/usr/bin/env python3
"""Checks that ONNX exports of SAM made the usual ways run in the toolkit and compute what onnxruntime computes.

  PYTHONPATH=scripts/stubs python3 scripts/check_onnx_exports.py [--preset vit_b|small] [--decoder-weights CKPT]
                                                                [--binary .build/release/ssmsam] [--keep DIR]

In a scratch folder the script builds a SAM with segment_anything (vit_b-shaped by default; every weight
randomised, rel-pos tables and norms included, seed 0), optionally with the prompt encoder and mask decoder of
a real checkpoint (--decoder-weights, e.g. MobileSAM's mobile_sam.pt, whose decoder is SAM's), saves it as
sam.pth, and exports it as users do:

  encoder_legacy.onnx   torch.onnx.export(sam.image_encoder, x, f, opset_version=17, do_constant_folding=True, dynamo=False)
  encoder_dynamo.onnx   torch.onnx.export(sam.image_encoder, (x,), f)                    (torch's default exporter)
  decoder_legacy.onnx   SamOnnxModel(sam, return_single_mask=True), as segment_anything's export script does
  decoder_dynamo.onnx   the same through the dynamo exporter (static point count)

onnxruntime runs the exports on a test image (the toolkit's preprocessing: PIL bilinear resize of the longest
side, normalisation, zero padding) and two points; `ssmsam encode` and `ssmsam segment --logits` run with each
encoder export (and --decoder DEC.onnx) and with sam.pth. Exit 0 when the toolkit's embeddings and low-res
logits match onnxruntime's within --tolerance (max |difference| / max |reference|) and the ONNX runs equal the
.pth run bit for bit; the last line is `OK ...` or `FAIL ...`.
(pip install torch==2.13.0+cpu segment-anything onnx onnxruntime onnxscript numpy pillow; the ssmsam binary built)
"""
import argparse, os, shutil, subprocess, sys, tempfile, warnings
import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from record_reference import apply_coords, preprocess  # noqa: E402  (puts the stubs on the path)
import make_onnx_fixtures  # noqa: E402
from segment_anything import sam_model_registry  # noqa: E402
from segment_anything.utils.onnx import SamOnnxModel  # noqa: E402

POINTS = [(120.0, 90.0, 1), (40.0, 150.0, 0)]


def build(preset, decoder_weights):
    if preset == "small":
        return make_onnx_fixtures.build()
    torch.manual_seed(0)
    sam = sam_model_registry[preset](checkpoint=None).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in sam.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    if decoder_weights:
        state = torch.load(decoder_weights, map_location="cpu", weights_only=True)
        part = {k: v for k, v in state.items() if k.startswith(("prompt_encoder.", "mask_decoder."))}
        missing = sam.load_state_dict(part, strict=False)
        assert not missing.unexpected_keys, missing.unexpected_keys
    return sam


def export(sam, folder):
    size = sam.image_encoder.img_size
    grid = size // sam.image_encoder.patch_embed.proj.kernel_size[0]
    x = torch.randn(1, 3, size, size)
    path = lambda n: os.path.join(folder, n)
    torch.onnx.export(sam.image_encoder, x, path("encoder_legacy.onnx"), opset_version=17, do_constant_folding=True, dynamo=False)
    torch.onnx.export(sam.image_encoder, (x,), path("encoder_dynamo.onnx"))
    dim = sam.prompt_encoder.embed_dim
    inputs = (torch.randn(1, dim, grid, grid), torch.tensor([[[20.0, 30.0], [40.0, 12.0], [0.0, 0.0]]]),
              torch.tensor([[1.0, 0.0, -1.0]]), torch.zeros(1, 1, 4 * grid, 4 * grid), torch.tensor([0.0]),
              torch.tensor([200.0, 300.0]))
    names = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size"]
    outputs = ["masks", "iou_predictions", "low_res_masks"]
    model = SamOnnxModel(sam, return_single_mask=True)
    torch.onnx.export(model, inputs, path("decoder_legacy.onnx"), export_params=True, opset_version=17, do_constant_folding=True,
                      input_names=names, output_names=outputs,
                      dynamic_axes={"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}}, dynamo=False)
    torch.onnx.export(model, inputs, path("decoder_dynamo.onnx"), input_names=names, output_names=outputs)


def relative(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="vit_b", choices=["vit_b", "vit_l", "vit_h", "small"])
    ap.add_argument("--decoder-weights", help="a SAM-shaped checkpoint whose prompt encoder and mask decoder to use")
    ap.add_argument("--binary", default=os.path.join(HERE, "..", ".build", "release", "ssmsam"))
    ap.add_argument("--tolerance", type=float, default=1e-3)
    ap.add_argument("--keep", help="work in this folder and keep it")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    folder = args.keep or tempfile.mkdtemp(prefix="onnx-check-")
    os.makedirs(folder, exist_ok=True)
    path = lambda n: os.path.join(folder, n)
    try:
        sam = build(args.preset, args.decoder_weights)
        torch.save(sam.state_dict(), path("sam.pth"))
        export(sam, folder)
        import onnxruntime as ort

        rng = np.random.default_rng(5)
        rgb = (rng.random((200, 300, 3)) * 60).astype(np.uint8)
        rgb[60:140, 80:200] = [200, 120, 90]
        Image.fromarray(rgb).save(path("image.png"))
        size = sam.image_encoder.img_size
        x, input_size = preprocess(rgb, size)
        coords = [apply_coords((p[0], p[1]), rgb.shape[:2], size) for p in POINTS] + [[0.0, 0.0]]  # + SAM's padding point
        feed = {"point_coords": np.array([coords], dtype=np.float32),
                "point_labels": np.array([[p[2] for p in POINTS] + [-1]], dtype=np.float32),
                "has_mask_input": np.zeros(1, dtype=np.float32),
                "orig_im_size": np.array(rgb.shape[:2], dtype=np.float32)}
        point_args = sum([["--point", f"{p[0]},{p[1]},{p[2]}"] for p in POINTS], [])

        def run(*cmd):
            r = subprocess.run([args.binary, *cmd], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"FAIL ssmsam {' '.join(cmd)}: {r.stderr.strip()}")

        def segment(label, model, decoder=None):
            out = path(f"{label}.npy")
            run("segment", "--model", model, *(["--decoder", decoder] if decoder else []), "--image", path("image.png"),
                *point_args, "--out", path(f"{label}.png"), "--logits", out)
            return np.load(out)

        failures, report = [], []
        by_pth = segment("pth", path("sam.pth"))
        for kind in ["legacy", "dynamo"]:
            enc = ort.InferenceSession(path(f"encoder_{kind}.onnx"))
            embedding = enc.run(None, {enc.get_inputs()[0].name: x.numpy()})[0]
            run("encode", "--model", path(f"encoder_{kind}.onnx"), "--image", path("image.png"), "--out", path(f"embedding_{kind}.npy"))
            e = relative(np.load(path(f"embedding_{kind}.npy")), embedding)
            report.append(f"encoder_{kind} embedding {e:.2e}")
            if e > args.tolerance:
                failures.append(f"encoder_{kind}: embedding differs from onnxruntime's by {e:.2e}")
            for dkind in ["legacy", "dynamo"]:
                dec = ort.InferenceSession(path(f"decoder_{dkind}.onnx"))
                grid = embedding.shape[-1]
                _, iou, low = dec.run(None, {"image_embeddings": embedding, "mask_input": np.zeros((1, 1, 4 * grid, 4 * grid), np.float32), **feed})
                ours = segment(f"{kind}_{dkind}", path(f"encoder_{kind}.onnx"), path(f"decoder_{dkind}.onnx"))
                d = relative(ours, low)
                report.append(f"{kind}+{dkind} logits {d:.2e}")
                if d > args.tolerance:
                    failures.append(f"encoder_{kind} + decoder_{dkind}: low-res logits differ from onnxruntime's by {d:.2e}")
                if not np.array_equal(ours, by_pth):
                    failures.append(f"encoder_{kind} + decoder_{dkind}: logits differ from the .pth run")
        print("; ".join(report))
        print(("FAIL " + "; ".join(failures)) if failures else f"OK {args.preset}: 2 encoder and 2 decoder exports run like sam.pth and onnxruntime (tolerance {args.tolerance})")
        return 1 if failures else 0
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
