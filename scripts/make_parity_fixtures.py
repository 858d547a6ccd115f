#!/usr/bin/env python3
"""Writes the reference bundles of the `ssmsam parity` tests with scripts/record_reference.py itself (run as
a user runs it), on small models and small synthetic images:

  Tests/SAMTests/Fixtures/parity_sam_small/      the small random SAM of the SAM tests (sam_small.safetensors,
                                                 ViT: image 128, embed 64, depth 4), one point, one background
                                                 point and a box, multimask; every stage
  Tests/SAMTests/Fixtures/parity_mobilesam/      the real MobileSAM (the models directory's mobile_sam.pt), one
                                                 point; only the small stages (image, prompt.sparse, decoder.*,
                                                 postprocess.masks) in float16, since the 1024 input and the
                                                 embedding would be 16 MB
  Tests/SSMSAMTests/Fixtures/parity_ssmsam_vit/  the SSM-SAM twin with adapters on the small ViT (the heads of
                                                 ssmsam_vit_adapters.safetensors); every stage

The SSM-SAM model is written to a temporary .pth + twin JSON (as `ssmsam ssm init --out M.pth` writes one);
the tests rebuild it from the committed base and heads. Run:
  python3 scripts/make_parity_fixtures.py [sam] [mobilesam] [ssmsam]
(pip install torch==2.13.0+cpu segment-anything safetensors numpy pillow; MobileSAM's code is fetched to
$MOBILESAM_DIR or /tmp/mobilesam by scripts/mobilesam_reference.py)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SAM_FIXTURES = os.path.join(ROOT, "Tests", "SAMTests", "Fixtures")
SSM_FIXTURES = os.path.join(ROOT, "Tests", "SSMSAMTests", "Fixtures")
MODELS = os.environ.get("SSMSAM_MODELS") or os.path.expanduser("~/.cache/ssmsam/models")


def scene(width, height, cx, cy, rx, ry, seed):
    """An 8-bit RGB image: a smooth gradient, a bright textured ellipse, noise; and the ellipse's mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1
    base = np.stack([60 + 80 * xx / width, 50 + 60 * yy / height, 90 + 0 * xx], axis=-1)
    base[inside] = [200, 150, 120]
    image = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    return image, inside


def save_png(array, path):
    Image.fromarray(array).save(path)
    return path


def record(out, *args, cwd=ROOT):
    """Runs record_reference.py as a user would (from the repository root, or from `cwd` so that a temporary
    model is named by its file name in the manifest), into a fresh `out`."""
    if os.path.exists(out):
        shutil.rmtree(out)
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "stubs"))
    subprocess.run([sys.executable, os.path.join(HERE, "record_reference.py"), *args, "--out", out], check=True, cwd=cwd, env=env)


def toolkit_config(c):
    """The toolkit's SAMConfig JSON (SAMConfig.swift's keys) for a make_sam_fixtures CONFIG."""
    return dict(encoder=dict(imageSize=c["image_size"], patchSize=c["patch"], embedDim=c["embed"], depth=c["depth"],
                             heads=c["heads"], mlpDim=4 * c["embed"], windowSize=c["window"],
                             globalAttentionBlocks=c["global_attn"], outChannels=c["prompt_dim"]),
                decoder=dict(promptDim=c["prompt_dim"], maskInChannels=16, transformerDepth=2, heads=c["decoder_heads"],
                             mlpDim=c["decoder_mlp"], attentionDownsample=2, multimaskOutputs=3, iouHeadDepth=3,
                             iouHeadHidden=c["iou_hidden"]))


def sam_small(tmp):
    sys.path.insert(0, HERE)
    from make_sam_fixtures import CONFIG
    config = os.path.join(tmp, "sam_small.json")
    with open(config, "w") as f:
        json.dump(toolkit_config(CONFIG), f, indent=2)
    image, _ = scene(100, 75, 45, 40, 25, 15, seed=3)
    record(os.path.join(SAM_FIXTURES, "parity_sam_small"), "--model", "Tests/SAMTests/Fixtures/sam_small.safetensors",
           "--config", config, "--image", save_png(image, os.path.join(tmp, "scene.png")),
           "--point", "45.5,40.25", "--point", "90,10,0", "--box", "18,22,75.5,60", "--multimask")


def mobilesam(tmp):
    checkpoint = os.path.join(MODELS, "mobile_sam.pt")
    if not os.path.exists(checkpoint):
        raise SystemExit(f"{checkpoint}: not found (scripts/setup installs MobileSAM)")
    image, _ = scene(120, 90, 58, 47, 30, 20, seed=4)
    record(os.path.join(SAM_FIXTURES, "parity_mobilesam"), "--model", checkpoint,
           "--image", save_png(image, os.path.join(tmp, "scene.png")), "--point", "58,47",
           "--stages", "image,prompt.sparse,decoder,postprocess", "--dtype", "float16")


def ssmsam_model(directory):
    """The twin with adapters on the small ViT and the heads of ssmsam_vit_adapters.safetensors, written as a
    full .pth with the twin's JSON beside it; returns the .pth's path."""
    sys.path.insert(0, HERE)
    from safetensors.torch import load_file
    from make_ssmsam_fixtures import vit_base
    from ssmsam_twin import SSMSAM, SSMSAMConfig, load_state, save_pth, write_config
    fixture = os.path.join(SSM_FIXTURES, "ssmsam_vit_adapters.safetensors")
    with open(fixture, "rb") as f:  # the safetensors metadata: the twin's config of these heads
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    cfg = SSMSAMConfig.from_json(header["__metadata__"]["config"])
    encoder, _ = vit_base()
    model = SSMSAM(encoder, cfg)
    heads = {k: v for k, v in load_file(fixture).items() if k.split(".")[0] in ("adapter", "levels", "sampler", "fmad")}
    load_state(model, heads, fixture)
    path = os.path.join(directory, "ssmsam_small.pth")
    save_pth(model, path, include_encoder=True)
    write_config(model.config, os.path.join(directory, "ssmsam_small.json"))
    return path


def ssmsam(tmp):
    path = ssmsam_model(tmp)
    support, support_mask = scene(96, 80, 44, 42, 24, 18, seed=5)
    query, _ = scene(96, 80, 50, 38, 22, 20, seed=6)
    record(os.path.join(SSM_FIXTURES, "parity_ssmsam_vit"), "--model", os.path.basename(path),
           "--support", save_png(support, os.path.join(tmp, "support.png")),
           "--support-mask", save_png(support_mask.astype(np.uint8) * 255, os.path.join(tmp, "support_mask.png")),
           "--query", save_png(query, os.path.join(tmp, "query.png")), "--point-seed", "7", cwd=tmp)


def main():
    which = sys.argv[1:] or ["sam", "mobilesam", "ssmsam"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in which:
            {"sam": sam_small, "mobilesam": mobilesam, "ssmsam": ssmsam}[name](tmp)


if __name__ == "__main__":
    main()
