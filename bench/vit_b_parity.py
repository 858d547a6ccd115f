#!/usr/bin/env python3
"""Full-size parity: a random-init SAM vit_b (real segment_anything code) on a real 1024-pixel image,
PyTorch vs the toolkit's CLI on the same checkpoint (.pth) and image.

  PYTHONPATH=scripts/stubs python3 bench/vit_b_parity.py [--dir /tmp/ssmsam-bench]
Prints the max abs and relative error of the image embedding and of the low-res logits for a point.
"""
import argparse, os, subprocess, sys
import numpy as np
import torch
from PIL import Image
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "scripts", "stubs"))
from segment_anything import sam_model_registry
from segment_anything.utils.transforms import ResizeLongestSide

ap = argparse.ArgumentParser()
ap.add_argument("--dir", default="/tmp/ssmsam-bench")
a = ap.parse_args()
if not os.path.exists(os.path.join(a.dir, "vit_b.pth")):
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make_vit_b.py"), a.dir], check=True)
torch.set_num_threads(2)

# A real image: an axial CT slice of the shared abdomen scan, windowed, grey to RGB, upscaled to 1024
# wide with Pillow (so the toolkit's resize path is exercised too: 1024 x 847 -> 1024 longest side).
import nibabel as nib
ct = nib.as_closest_canonical(nib.load(os.path.join(ROOT, "..", "shared", "data", "abdomen-ct", "ct.nii.gz"))).get_fdata()
sl = np.clip((ct[:, :, 15] + 125) / 400 * 255, 0, 255).astype(np.uint8).T[::-1]  # rows = anterior->posterior
img = Image.fromarray(sl).convert("RGB").resize((1024, int(1024 * sl.shape[0] / sl.shape[1])), Image.BILINEAR)
path = os.path.join(a.dir, "ct_slice.png")
img.save(path)
image = np.array(img)

sam = sam_model_registry["vit_b"]()
sam.load_state_dict(torch.load(os.path.join(a.dir, "vit_b.pth"), weights_only=True))
sam.eval()
t = ResizeLongestSide(1024)
target = t.get_preprocess_shape(image.shape[0], image.shape[1], 1024)
resized = np.array(Image.fromarray(image).resize((target[1], target[0]), Image.BILINEAR))
x = sam.preprocess(torch.as_tensor(resized).permute(2, 0, 1)[None].float())
point = np.array([[[600.0, 400.0]]])
with torch.inference_mode():
    emb = sam.image_encoder(x)
    coords = torch.as_tensor(t.apply_coords(point, image.shape[:2]), dtype=torch.float32)
    sparse, dense = sam.prompt_encoder(points=(coords, torch.ones(1, 1)), boxes=None, masks=None)
    low, iou = sam.mask_decoder(image_embeddings=emb, image_pe=sam.prompt_encoder.get_dense_pe(),
                                sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=False)

tool = os.path.join(ROOT, ".build", "release", "ssmsam")
subprocess.run(["swift", "build", "-c", "release", "--product", "ssmsam"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
env = dict(os.environ, OPENBLAS_NUM_THREADS="2")
subprocess.run([tool, "encode", "--model", os.path.join(a.dir, "vit_b.pth"), "--image", path,
                "--out", os.path.join(a.dir, "emb.npy")], check=True, env=env)
subprocess.run([tool, "segment", "--model", os.path.join(a.dir, "vit_b.pth"), "--image", path, "--point", "600,400",
                "--out", os.path.join(a.dir, "mask.png"), "--logits", os.path.join(a.dir, "low.npy")], check=True, env=env)


def report(name, ours, ref):
    err = np.abs(ours - ref).max()
    print(f"{name:22} max abs error {err:.3e}   relative to max |ref| {err / np.abs(ref).max():.3e}   (max |ref| {np.abs(ref).max():.3f})")


report("image embedding", np.load(os.path.join(a.dir, "emb.npy")), emb.numpy())
report("low-res logits", np.load(os.path.join(a.dir, "low.npy")), low.numpy())
ours_mask = np.load(os.path.join(a.dir, "low.npy")) > 0
print(f"binary low-res masks identical: {(ours_mask == (low.numpy() > 0)).mean() * 100:.4f}% of pixels")
