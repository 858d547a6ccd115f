"""Episode plans written by the toolkit (`ssmsam meta-train ... --plan-out PLAN.json`), read by the twin, so that
both sides meta-train on identical episodes (format: Formats/FORMATS.md, "Episode plan").

The plan names, per epoch and meta-batch, each task's organ, volume, support slices (with the self-sampler's
points, which the toolkit picked from the support mask) and query slices. The slices themselves are in the
inputs file beside it (`PLAN.inputs.safetensors`): each slice as 8-bit grey in display layout
(`grey.v<V>.s<K>`, the toolkit's intensity preset and orientation already applied) and each organ's binary
mask in the same layout (`mask.v<V>.s<K>.<organ>`). The twin applies SAM's preprocessing to them as the
toolkit does (Pillow bilinear resize of the longest side, normalisation in float32, zero padding; masks
nearest-neighbour at pixel centres) and checks every model input and frame mask against the SHA-256 of the
toolkit's own float32 tensor recorded in the plan: the inputs are bit-identical, or the twin stops.
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

from .encoders import SCRIPTS

if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)
from mobilesam_reference import sha256 as sha256_file  # noqa: E402  (one file hash for the scripts)

FORMAT, VERSION = "ssmsam-episode-plan", 1
PIXEL_MEAN = torch.tensor([123.675, 116.28, 103.53], dtype=torch.float32).view(1, 3, 1, 1)
PIXEL_STD = torch.tensor([58.395, 57.12, 57.375], dtype=torch.float32).view(1, 3, 1, 1)


class PlanError(ValueError):
    pass


def tensor_sha256(t):
    """SHA-256 of a float32 tensor's little-endian bytes in row-major order (as the toolkit hashes its own)."""
    return hashlib.sha256(t.detach().cpu().contiguous().numpy().astype("<f4", copy=False).tobytes()).hexdigest()


def resized_size(h, w, size):
    scale = size / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def model_input(grey, size):
    """8-bit grey (H, W) to SAM's model input (1, 3, S, S): repeated to RGB, Pillow bilinear resize of the
    longest side to S, (x - mean) / std in float32 on the 0-255 scale, zero padding right and bottom."""
    h, w = resized_size(*grey.shape, size)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    resized = np.array(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))
    x = (torch.from_numpy(resized).permute(2, 0, 1)[None].float() - PIXEL_MEAN) / PIXEL_STD
    out = torch.zeros(1, 3, size, size)
    out[:, :, :h, :w] = x
    return out


def framed_mask(mask, size):
    """A binary mask (H, W) in the model frame (1, 1, S, S): nearest neighbour at pixel centres, row
    r <- min(H - 1, floor((r + 0.5) H / h)) (likewise columns, in float64 as the toolkit), zero padding."""
    hh, ww = mask.shape
    h, w = resized_size(hh, ww, size)
    rows = np.minimum(hh - 1, ((np.arange(h) + 0.5) * hh / h).astype(np.int64))
    cols = np.minimum(ww - 1, ((np.arange(w) + 0.5) * ww / w).astype(np.int64))
    out = torch.zeros(1, 1, size, size)
    out[0, 0, :h, :w] = torch.from_numpy((mask[rows][:, cols] > 0).astype(np.float32))
    return out


class Plan:
    """A plan and its inputs. `episode_tasks(e, b)` lists meta-batch b of epoch e; `slice_input` and
    `frame_mask` give the checked model inputs."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        try:
            with open(self.path) as f:
                self.doc = json.load(f)
        except (OSError, ValueError) as e:
            raise PlanError(f"{path}: not a readable episode plan ({e})") from e
        d = self.doc
        if d.get("format") != FORMAT or d.get("version") != VERSION:
            raise PlanError(f"{path}: format {d.get('format')!r} version {d.get('version')!r}, expected {FORMAT!r} {VERSION}")
        self.sha256 = sha256_file(self.path)
        inputs = d["inputs"]
        self.inputs_path = os.path.join(os.path.dirname(self.path), inputs["file"])
        if not os.path.exists(self.inputs_path):
            raise PlanError(f"{self.inputs_path}: the plan's inputs file is missing")
        actual = sha256_file(self.inputs_path)
        if actual != inputs["sha256"]:
            raise PlanError(f"{self.inputs_path}: sha256 {actual}, the plan expects {inputs['sha256']}")
        from safetensors.numpy import load_file
        self.tensors = load_file(self.inputs_path)
        self.image_size = int(inputs["image_size"])
        self.slices = {s["name"]: s for s in d["slices"]}
        self.masks = {m["name"]: m for m in d["masks"]}
        self.config = d["meta_learner"]
        self.epochs = d["epochs"]

    @staticmethod
    def slice_name(volume, k):
        return f"v{volume}.s{k}"

    def _tensor(self, key):
        if key not in self.tensors:
            raise PlanError(f"{self.inputs_path}: no tensor {key}")
        return self.tensors[key]

    def slice_input(self, volume, k):
        """The checked SAM input (1, 3, S, S) of slice k of volume `volume`."""
        name = self.slice_name(volume, k)
        x = model_input(self._tensor(f"grey.{name}"), self.image_size)
        want = self.slices[name]["input_sha256"]
        if tensor_sha256(x) != want:
            raise PlanError(f"{self.inputs_path}: the model input of {name} is not the toolkit's (sha256 {tensor_sha256(x)}, "
                            f"the plan {want}): Pillow's resize differs here; see Formats/FORMATS.md")
        return x

    def frame_mask(self, volume, k, organ):
        """The checked binary mask (1, 1, S, S) of `organ` on slice k of volume `volume`."""
        name = f"{self.slice_name(volume, k)}.{organ}"
        m = framed_mask(self._tensor(f"mask.{name}"), self.image_size)
        want = self.masks[name]["frame_sha256"]
        if tensor_sha256(m) != want:
            raise PlanError(f"{self.inputs_path}: the frame mask {name} is not the toolkit's (sha256 {tensor_sha256(m)}, the plan {want})")
        return m

    def batch_tasks(self, epoch, batch):
        """The tasks of meta-batch `batch` of epoch `epoch` (the plan's dicts)."""
        if epoch >= len(self.epochs):
            raise PlanError(f"{self.path}: has {len(self.epochs)} epochs, epoch {epoch} asked for")
        e = self.epochs[epoch]
        if e["epoch"] != epoch or batch >= len(e["batches"]):
            raise PlanError(f"{self.path}: epoch {epoch} has no meta-batch {batch}")
        return e["batches"][batch]["tasks"]


def points_tensors(points):
    """The plan's points [{x, y, positive}] as (1, P, 2) float32 frame coordinates and (1, P) int64 labels."""
    xy = torch.tensor([[[p["x"], p["y"]] for p in points]], dtype=torch.float32)
    labels = torch.tensor([[1 if p["positive"] else 0 for p in points]], dtype=torch.int64)
    return xy, labels
