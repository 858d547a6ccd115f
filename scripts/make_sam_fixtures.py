#!/usr/bin/env python3
"""Writes SAM parity fixtures with the reference `segment_anything` code on a small random model.

Outputs (Tests/SAMTests/Fixtures/):
  sam_small.safetensors          the random weights (official SAM key names)
  sam_small_outputs.safetensors  encoder input, block outputs, embedding, and per prompt case the
                                 sparse/dense embeddings, low-res logits, IoU, gradients
  preprocess.safetensors         a uint8 image, its PIL-resized + normalised + padded model input
Run:  PYTHONPATH=scripts/stubs python3 scripts/make_sam_fixtures.py
(pip install torch==2.13.0+cpu segment-anything safetensors pillow numpy)
"""
import json, os, sys
import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "stubs"))
from segment_anything.modeling import ImageEncoderViT, PromptEncoder, MaskDecoder, TwoWayTransformer, Sam
from segment_anything.utils.transforms import ResizeLongestSide
from functools import partial

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "SAMTests", "Fixtures")
CONFIG = dict(image_size=128, patch=16, embed=64, depth=4, heads=2, window=3, global_attn=[1, 3],
              prompt_dim=32, decoder_mlp=64, decoder_heads=4, iou_hidden=32)


def build():
    c = CONFIG
    emb = c["image_size"] // c["patch"]
    return Sam(
        image_encoder=ImageEncoderViT(depth=c["depth"], embed_dim=c["embed"], img_size=c["image_size"], mlp_ratio=4,
                                      norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=c["heads"],
                                      patch_size=c["patch"], qkv_bias=True, use_rel_pos=True,
                                      global_attn_indexes=c["global_attn"], window_size=c["window"],
                                      out_chans=c["prompt_dim"]),
        prompt_encoder=PromptEncoder(embed_dim=c["prompt_dim"], image_embedding_size=(emb, emb),
                                     input_image_size=(c["image_size"], c["image_size"]), mask_in_chans=16),
        mask_decoder=MaskDecoder(num_multimask_outputs=3,
                                 transformer=TwoWayTransformer(depth=2, embedding_dim=c["prompt_dim"],
                                                               mlp_dim=c["decoder_mlp"], num_heads=c["decoder_heads"]),
                                 transformer_dim=c["prompt_dim"], iou_head_depth=3, iou_head_hidden_dim=c["iou_hidden"]),
        pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])


def randomise(model):
    """Every parameter random (zero-initialised rel-pos tables too), norms around 1."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm1.weight") or ".norm" in name and name.endswith("weight") or \
               name.endswith(("neck.1.weight", "neck.3.weight", "output_upscaling.1.weight",
                              "mask_downscaling.1.weight", "mask_downscaling.4.weight")):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 4
                p.copy_(torch.randn(p.shape, generator=g) / max(1.0, fan_in) ** 0.5)
        model.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix.copy_(torch.randn(2, CONFIG["prompt_dim"] // 2, generator=g))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    sam = build().eval()
    randomise(sam)
    save_file({k: v.contiguous() for k, v in sam.state_dict().items()}, os.path.join(OUT, "sam_small.safetensors"),
              metadata={"config": json.dumps(CONFIG)})
    out = {}
    cases = []

    # Image encoder: block outputs through forward hooks, and gradients of sum(embedding * g).
    x = torch.randn(1, 3, CONFIG["image_size"], CONFIG["image_size"], requires_grad=True)
    taps = []
    hooks = [b.register_forward_hook(lambda m, i, o: taps.append(o.detach().clone())) for b in sam.image_encoder.blocks]
    emb = sam.image_encoder(x)
    for h in hooks:
        h.remove()
    g = torch.randn(emb.shape)
    (emb * g).sum().backward()
    out["encoder.input"] = x.detach()
    out["encoder.embedding"] = emb.detach()
    out["encoder.grad_out"] = g
    out["encoder.grad.input"] = x.grad
    for i, t in enumerate(taps):
        out[f"encoder.block{i}"] = t
    enc = dict(sam.image_encoder.named_parameters())
    for name in ["blocks.0.attn.rel_pos_h", "blocks.1.attn.qkv.weight", "blocks.1.attn.rel_pos_w", "pos_embed",
                 "neck.2.weight", "patch_embed.proj.weight", "blocks.3.mlp.lin1.weight"]:
        out[f"encoder.grad.image_encoder.{name}"] = enc[name].grad.clone()
    sam.zero_grad()

    # Prompts on a fixed embedding (the reference's own), coordinates in the 128 input frame.
    embedding = emb.detach()
    gen = torch.Generator().manual_seed(1)
    mask_input = torch.randn(1, 1, 32, 32, generator=gen) * 3
    prompt_cases = {
        "point": dict(points=[[30.2, 70.8]], labels=[1], box=None, mask=False, multimask=True),
        "two_points": dict(points=[[30.0, 70.0], [100.5, 12.25]], labels=[1, 0], box=None, mask=False, multimask=False),
        "box": dict(points=None, labels=None, box=[12.0, 20.5, 90.0, 110.0], mask=False, multimask=False),
        "point_box": dict(points=[[50.0, 60.0]], labels=[1], box=[12.0, 20.5, 90.0, 110.0], mask=False, multimask=True),
        "mask_point": dict(points=[[64.0, 64.0]], labels=[1], box=None, mask=True, multimask=False),
    }
    for name, c in prompt_cases.items():
        emb_in = embedding.clone().requires_grad_(True)
        pts = None
        if c["points"] is not None:
            pts = (torch.tensor([c["points"]], dtype=torch.float32), torch.tensor([c["labels"]], dtype=torch.float32))
        box = torch.tensor([c["box"]], dtype=torch.float32) if c["box"] is not None else None
        sparse, dense = sam.prompt_encoder(points=pts, boxes=box, masks=mask_input if c["mask"] else None)
        low, iou = sam.mask_decoder(image_embeddings=emb_in, image_pe=sam.prompt_encoder.get_dense_pe(),
                                    sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                    multimask_output=c["multimask"])
        gl = torch.randn(low.shape)
        (low * gl).sum().backward()
        out[f"{name}.sparse"] = sparse.detach()
        out[f"{name}.dense"] = dense.detach()
        out[f"{name}.low_res_logits"] = low.detach()
        out[f"{name}.iou"] = iou.detach()
        out[f"{name}.grad_out"] = gl
        out[f"{name}.grad.embedding"] = emb_in.grad
        params = dict(sam.named_parameters())
        for p in ["mask_decoder.transformer.layers.0.self_attn.q_proj.weight",
                  "mask_decoder.transformer.layers.1.cross_attn_image_to_token.v_proj.bias",
                  "mask_decoder.output_hypernetworks_mlps.1.layers.0.weight",
                  "mask_decoder.output_upscaling.0.weight", "mask_decoder.iou_token.weight",
                  "prompt_encoder.point_embeddings.1.weight"]:
            if params[p].grad is not None:
                out[f"{name}.grad.{p}"] = params[p].grad.clone()
        sam.zero_grad()
        cases.append(dict(name=name, **c))
    out["mask_input"] = mask_input
    out["dense_pe"] = sam.prompt_encoder.get_dense_pe()

    # Post-processing: low-res logits -> input frame (cropped) -> original size.
    original = (75, 100)  # H, W of an original image whose longest side becomes 128
    input_size = ResizeLongestSide.get_preprocess_shape(*original, CONFIG["image_size"])
    with torch.no_grad():
        post = sam.postprocess_masks(out["point.low_res_logits"], input_size, original)
    out["postprocess.masks"] = post
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT, "sam_small_outputs.safetensors"),
              metadata={"cases": json.dumps(cases), "postprocess": json.dumps(dict(input_size=input_size, original_size=original))})

    # Pre-processing: PIL bilinear resize (what torchvision's resize does on a PIL image), normalise, pad.
    rng = np.random.default_rng(2)
    image = (rng.random((75, 100, 3)) * 255).astype(np.uint8)
    image[20:50, 30:80] = [200, 40, 90]  # some structure
    target = ResizeLongestSide.get_preprocess_shape(75, 100, CONFIG["image_size"])
    resized = np.array(Image.fromarray(image).resize((target[1], target[0]), Image.BILINEAR))
    t = torch.as_tensor(resized).permute(2, 0, 1)[None].float()
    model_input = sam.preprocess(t)
    coords = ResizeLongestSide(CONFIG["image_size"]).apply_coords(np.array([[[10.0, 20.0], [99.0, 74.0]]]), (75, 100))
    # A larger image, so that the resize shrinks it (Pillow widens its filter: antialiasing).
    big = (rng.random((150, 203, 3)) * 255).astype(np.uint8)
    big[40:90, 50:160] = [10, 220, 60]
    tb = ResizeLongestSide.get_preprocess_shape(150, 203, CONFIG["image_size"])
    big_resized = np.array(Image.fromarray(big).resize((tb[1], tb[0]), Image.BILINEAR))
    big_input = sam.preprocess(torch.as_tensor(big_resized).permute(2, 0, 1)[None].float())
    save_file({"image": torch.as_tensor(image), "resized": torch.as_tensor(resized), "model_input": model_input,
               "image_down": torch.as_tensor(big), "model_input_down": big_input,
               "coords_original": torch.tensor([[10.0, 20.0], [99.0, 74.0]]),
               "coords_resized": torch.as_tensor(coords[0], dtype=torch.float32)},
              os.path.join(OUT, "preprocess.safetensors"), metadata={"target": json.dumps(target)})
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files ({total / 1e6:.2f} MB) to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
