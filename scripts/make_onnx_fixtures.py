#!/usr/bin/env python3
"""Writes ONNX exports of a tiny random SAM, made the usual ways, and the reference outputs to check them.

Outputs (Tests/SAMTests/Fixtures/onnx/):
  sam_tiny.pth                   the random weights (official SAM names, torch.save)
  encoder_legacy.onnx            torch.onnx.export(sam.image_encoder, x, f, opset_version=17,
                                 do_constant_folding=True, dynamo=False)     (TorchScript exporter)
  encoder_dynamo.onnx(.data)     torch.onnx.export(sam.image_encoder, (x,), f)  (torch 2.13's default: dynamo)
  decoder_legacy.onnx            SamOnnxModel(sam, return_single_mask=True) as segment_anything's
                                 scripts/export_onnx_model.py exports it (dynamic point count)
  decoder_dynamo.onnx(.data)     the same model through the dynamo exporter (static point count: the
                                 exporter cannot translate SamOnnxModel's dynamic one)
  not_sam.onnx                   a two-layer MLP: an ONNX model that is not SAM
  image.png                      a 48 x 64 RGB image for the CLI tests
  reference.safetensors          from segment_anything and onnxruntime: encoder input and embedding
                                 (torch, and onnxruntime on both encoder exports), one prompt's low-res
                                 logits and IoU from the torch modules
Run:  PYTHONPATH=scripts/stubs python3 scripts/make_onnx_fixtures.py
(pip install torch==2.13.0+cpu segment-anything onnx onnxruntime onnxscript safetensors numpy pillow)
"""
import json, os, sys, warnings
import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "stubs"))
sys.path.insert(0, os.path.dirname(__file__))
import make_sam_fixtures as sam_fixtures  # build() and randomise() of the small SAM
from segment_anything.utils.onnx import SamOnnxModel

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "SAMTests", "Fixtures", "onnx")
# Tiny: 64 px input, 8 px patches (an 8 x 8 grid), two blocks (one windowed, one global). Decoder heads 8,
# SAM's default, so that the architecture is detected from the weights alone.
CONFIG = dict(image_size=64, patch=8, embed=16, depth=2, heads=2, window=3, global_attn=[1],
              prompt_dim=16, decoder_mlp=32, decoder_heads=8, iou_hidden=16)


def build():
    sam_fixtures.CONFIG.clear()
    sam_fixtures.CONFIG.update(CONFIG)
    torch.manual_seed(0)
    sam = sam_fixtures.build().eval()
    sam_fixtures.randomise(sam)
    return sam


def decoder_inputs(grid, points):
    g = torch.Generator().manual_seed(3)
    return {
        "image_embeddings": torch.randn(1, CONFIG["prompt_dim"], grid, grid, generator=g),
        "point_coords": torch.tensor([points], dtype=torch.float32),
        "point_labels": torch.tensor([[1, 0, -1][: len(points)]], dtype=torch.float32),
        "mask_input": torch.zeros(1, 1, 4 * grid, 4 * grid),
        "has_mask_input": torch.tensor([0], dtype=torch.float32),
        "orig_im_size": torch.tensor([48, 64], dtype=torch.float32),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    warnings.filterwarnings("ignore")
    path = lambda name: os.path.join(OUT, name)
    sam = build()
    torch.save(sam.state_dict(), path("sam_tiny.pth"))
    size, grid = CONFIG["image_size"], CONFIG["image_size"] // CONFIG["patch"]

    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    torch.onnx.export(sam.image_encoder, x, path("encoder_legacy.onnx"), opset_version=17, do_constant_folding=True, dynamo=False)
    torch.onnx.export(sam.image_encoder, (x,), path("encoder_dynamo.onnx"))

    onnx_model = SamOnnxModel(sam, return_single_mask=True)
    names = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size"]
    outputs = ["masks", "iou_predictions", "low_res_masks"]
    inputs = decoder_inputs(grid, [[20.0, 30.0], [40.0, 12.0]])
    torch.onnx.export(onnx_model, tuple(inputs.values()), path("decoder_legacy.onnx"), export_params=True, opset_version=17,
                      do_constant_folding=True, input_names=names, output_names=outputs,
                      dynamic_axes={"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}}, dynamo=False)
    torch.onnx.export(onnx_model, tuple(inputs.values()), path("decoder_dynamo.onnx"), input_names=names, output_names=outputs)

    mlp = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
    torch.onnx.export(mlp, torch.randn(1, 6), path("not_sam.onnx"), opset_version=17, dynamo=False)

    rng = np.random.default_rng(4)
    image = (rng.random((48, 64, 3)) * 255).astype(np.uint8)
    image[10:30, 20:50] = [220, 60, 40]
    Image.fromarray(image).save(path("image.png"))

    # References: the torch modules, and onnxruntime on the exports (that the exports compute the same).
    import onnxruntime as ort
    ref = {"encoder.input": x}
    with torch.no_grad():
        emb = sam.image_encoder(x)
        ref["encoder.embedding"] = emb
        for kind in ["legacy", "dynamo"]:
            s = ort.InferenceSession(path(f"encoder_{kind}.onnx"))
            ref[f"encoder.embedding.ort_{kind}"] = torch.from_numpy(s.run(None, {s.get_inputs()[0].name: x.numpy()})[0])
        pts = torch.tensor([[[20.0, 30.0], [40.0, 12.0]]]), torch.tensor([[1.0, 0.0]])
        sparse, dense = sam.prompt_encoder(points=pts, boxes=None, masks=None)
        low, iou = sam.mask_decoder(image_embeddings=emb, image_pe=sam.prompt_encoder.get_dense_pe(),
                                    sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=True)
        ref["prompt.low_res_logits"], ref["prompt.iou"] = low, iou
        # SamOnnxModel on the same embedding and points (with its padding point), through onnxruntime.
        feed = decoder_inputs(grid, [[20.0, 30.0], [40.0, 12.0]])
        feed["image_embeddings"] = emb
        feed["point_coords"] = torch.tensor([[[20.0, 30.0], [40.0, 12.0], [0.0, 0.0]]])
        feed["point_labels"] = torch.tensor([[1.0, 0.0, -1.0]])
        s = ort.InferenceSession(path("decoder_legacy.onnx"))
        _, ort_iou, ort_low = s.run(None, {k: v.numpy() for k, v in feed.items()})
        ref["prompt.ort_legacy.low_res_logits"], ref["prompt.ort_legacy.iou"] = torch.from_numpy(ort_low), torch.from_numpy(ort_iou)
        torch_masks, torch_iou, torch_low = onnx_model(*feed.values())
        ref["prompt.samonnx.low_res_logits"], ref["prompt.samonnx.iou"] = torch_low, torch_iou
    for k in ["legacy", "dynamo"]:
        err = (ref[f"encoder.embedding.ort_{k}"] - emb).abs().max().item()
        assert err < 1e-4, f"onnxruntime on encoder_{k}.onnx differs from torch by {err}"
    err = (ref["prompt.ort_legacy.low_res_logits"] - torch_low).abs().max().item()
    assert err < 1e-4, f"onnxruntime on decoder_legacy.onnx differs from SamOnnxModel by {err}"
    save_file({k: v.contiguous().float() for k, v in ref.items()}, path("reference.safetensors"),
              metadata={"config": json.dumps(CONFIG), "points": json.dumps([[20.0, 30.0, 1], [40.0, 12.0, 0]])})
    total = sum(os.path.getsize(path(f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files ({total / 1e6:.2f} MB) to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
