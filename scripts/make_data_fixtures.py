#!/usr/bin/env python3
"""Writes the committed fixtures of MedicalDataTests and ImagingTests with the reference libraries.

    pip install nibabel numpy pillow
    python3 scripts/make_data_fixtures.py

MedicalDataTests/Fixtures:
  pred_perturbed.nii.gz  a perturbed copy of the real CT's label map (../shared/data/abdomen-ct)
  dice_expected.json           nibabel + numpy 3-D Dice of that prediction per organ, whole volume and
                               over the 1-shot query slices (C = 3 chunks, centre slice as support)
  orient_*.nii.gz / orientation_expected.json
                               small volumes with non-trivial affines and nibabel's as_closest_canonical
  grid_*.nii.gz                an image and label maps on the same / a shifted / a different grid
ImagingTests/Fixtures:
  PNGs of several colour types and bit depths written by Pillow, JPEGs written by Pillow, and
  images_expected.json with the pixels Pillow decodes (what libpng/libjpeg must reproduce).

The Swift tests only read these files; numbers in them come from here, not from the Swift code.
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "data", "abdomen-ct")
MD = os.path.join(ROOT, "Tests", "MedicalDataTests", "Fixtures")
IM = os.path.join(ROOT, "Tests", "ImagingTests", "Fixtures")
TOTALSEG = {"spleen": 1, "right_kidney": 2, "left_kidney": 3, "liver": 5}


def dice(p, g):
    p, g = p.astype(bool), g.astype(bool)
    s = int(p.sum()) + int(g.sum())
    return 1.0 if s == 0 else 2.0 * int((p & g).sum()) / s


def chunks(first, last, c):
    """The protocol's chunks: array_split of first..last into c runs; support = run[len // 2]."""
    runs = np.array_split(np.arange(first, last + 1), c)
    return [(int(r[0]), int(r[-1]), int(r[len(r) // 2])) for r in runs]


def dice_fixtures():
    lab_img = nib.load(os.path.join(SHARED, "labels.nii.gz"))
    lab = np.asarray(lab_img.dataobj).astype(np.int32)
    assert nib.aff2axcodes(lab_img.affine) == ("R", "A", "S"), "the shared CT is expected to be stored RAS"
    rng = np.random.default_rng(7)
    pred = lab.copy()
    # Perturb: shift everything one voxel along x, drop 10% of organ voxels, add scattered false positives.
    pred = np.roll(pred, 1, axis=0)
    drop = (rng.random(pred.shape) < 0.10) & (pred > 0)
    pred[drop] = 0
    for organ, oid in TOTALSEG.items():
        add = (rng.random(pred.shape) < 0.002) & (pred == 0)
        pred[add] = oid
    pred = pred.astype(np.uint8)
    out = nib.Nifti1Image(pred, lab_img.affine, lab_img.header)
    out.set_data_dtype(np.uint8)
    nib.save(out, os.path.join(MD, "pred_perturbed.nii.gz"))

    expected = {"source": "../shared/data/abdomen-ct/labels.nii.gz", "label_map": "totalseg", "organs": {}}
    for organ, oid in TOTALSEG.items():
        g = lab == oid
        p = pred == oid
        zs = np.where(g.any(axis=(0, 1)))[0]
        first, last = int(zs.min()), int(zs.max())
        ch = chunks(first, last, 3)
        queries = [z for (a, b, s) in ch for z in range(a, b + 1) if z != s]
        expected["organs"][organ] = {
            "id": oid,
            "volume_dice": dice(p, g),
            "chunks": [[a, b, s] for (a, b, s) in ch],
            "query_slices": queries,
            "query_dice": dice(p[:, :, queries], g[:, :, queries]),
        }
    with open(os.path.join(MD, "dice_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


def rotation(axis, deg):
    t = np.deg2rad(deg)
    c, s = np.cos(t), np.sin(t)
    m = np.eye(3)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def orientation_fixtures():
    cases = {}
    shape = (5, 4, 3)
    data = np.arange(np.prod(shape), dtype=np.float32).reshape(shape, order="F") * 1.5 - 7
    # 1. sform only: voxel axes permuted and flipped (stored "PIL"-like), zooms 0.8 / 1.2 / 2.5, a 20-degree
    #    rotation about z and a slight shear, so the closest-orthogonal step matters.
    perm = np.array([[0, 0, -1], [-1, 0, 0], [0, -1, 0]], dtype=float)
    rzs = rotation(2, 20) @ perm @ np.diag([0.8, 1.2, 2.5])
    rzs[0, 1] += 0.05
    aff = np.eye(4)
    aff[:3, :3] = rzs
    aff[:3, 3] = [12.5, -30.0, 7.25]
    img = nib.Nifti1Image(data, aff)
    img.header.set_sform(aff, code=2)
    img.header.set_qform(None, code=0)
    cases["orient_sform"] = (img, nib.Nifti1Image)
    # 2. qform only (sform_code 0), NIfTI-2, int16 with slope/intercept: LPS-like with a rotation about x.
    rzs2 = rotation(0, -30) @ np.diag([-2.0, -1.0, 3.0])
    aff2 = np.eye(4)
    aff2[:3, :3] = rzs2
    aff2[:3, 3] = [-4.0, 9.0, 1.0]
    idata = (np.arange(np.prod(shape)).reshape(shape, order="F") * 7 - 40).astype(np.int16)
    img2 = nib.Nifti2Image(idata, aff2)
    img2.header.set_qform(aff2, code=1)
    img2.header.set_sform(None, code=0)
    img2.header.set_slope_inter(0.5, -10.0)
    cases["orient_qform_nifti2"] = (img2, nib.Nifti2Image)

    expected = {}
    for name, (img, cls) in cases.items():
        path = os.path.join(MD, name + ".nii.gz")
        nib.save(img, path)
        back = nib.load(path)  # reload: what nibabel reads from the file (float32 header rounding included)
        can = nib.as_closest_canonical(back)
        arr = np.asarray(can.get_fdata(), dtype=np.float64)
        expected[name] = {
            "stored_axcodes": "".join(nib.aff2axcodes(back.affine)),
            "canonical_axcodes": "".join(nib.aff2axcodes(can.affine)),
            "shape": list(arr.shape),
            "zooms": [float(z) for z in can.header.get_zooms()[:3]],
            "affine": can.affine.tolist(),
            "data_xfastest": arr.flatten(order="F").tolist(),
        }
    with open(os.path.join(MD, "orientation_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


def grid_fixtures():
    aff = np.diag([2.0, 2.0, 3.0, 1.0])
    aff[:3, 3] = [-10, 5, 0]
    img = np.linspace(-100, 100, 4 * 4 * 3, dtype=np.float32).reshape((4, 4, 3))
    lab = np.zeros((4, 4, 3), dtype=np.uint8)
    lab[1:3, 1:3, 1] = 5
    nib.save(nib.Nifti1Image(img, aff), os.path.join(MD, "grid_image.nii.gz"))
    nib.save(nib.Nifti1Image(lab, aff), os.path.join(MD, "grid_labels.nii.gz"))
    shifted = aff.copy()
    shifted[0, 3] += 5.0
    nib.save(nib.Nifti1Image(lab, shifted), os.path.join(MD, "grid_labels_shifted.nii.gz"))
    nib.save(nib.Nifti1Image(np.zeros((4, 5, 3), dtype=np.uint8), aff), os.path.join(MD, "grid_labels_wrongdims.nii.gz"))


def image_fixtures():
    expected = {}
    rng = np.random.default_rng(3)
    h, w = 12, 16
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 16, yy * 20, (xx + yy) * 8], axis=-1).astype(np.uint8)
    grey = (xx * 15 + yy * 3).astype(np.uint8)

    def save(name, im, **kw):
        im.save(os.path.join(IM, name), **kw)
        back = Image.open(os.path.join(IM, name))
        return back

    # PNGs: RGB, grey, RGBA, palette, 16-bit grey (values multiples of 257, so 8-bit values are exact), 1-bit.
    save("rgb.png", Image.fromarray(rgb, "RGB"))
    expected["rgb.png"] = {"channels": 3, "pixels": rgb.flatten().tolist()}
    save("grey.png", Image.fromarray(grey, "L"))
    expected["grey.png"] = {"channels": 1, "pixels": grey.flatten().tolist()}
    alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
    save("rgba.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"))
    expected["rgba.png"] = {"channels": 3, "pixels": rgb.flatten().tolist()}  # alpha dropped
    pal = Image.fromarray(rgb, "RGB").quantize(colors=16, method=Image.Quantize.MEDIANCUT)
    save("palette.png", pal)
    expected["palette.png"] = {"channels": 3, "pixels": np.asarray(pal.convert("RGB")).flatten().tolist()}
    g16 = (grey.astype(np.uint16) * 257)
    Image.fromarray(g16.astype(np.uint16)).save(os.path.join(IM, "grey16.png"))
    assert Image.open(os.path.join(IM, "grey16.png")).mode.startswith("I"), "expected a 16-bit PNG"
    expected["grey16.png"] = {"channels": 1, "pixels": grey.flatten().tolist()}
    bits = ((xx + yy) % 2).astype(bool)
    save("bilevel.png", Image.fromarray(bits).convert("1"))
    expected["bilevel.png"] = {"channels": 1, "pixels": (bits.astype(np.uint8) * 255).flatten().tolist()}

    # JPEGs: 4:4:4 colour and greyscale, quality 95; expected = what Pillow's libjpeg decodes.
    save("rgb.jpg", Image.fromarray(rgb, "RGB"), quality=95, subsampling=0)
    expected["rgb.jpg"] = {"channels": 3, "pixels": np.asarray(Image.open(os.path.join(IM, "rgb.jpg")).convert("RGB")).flatten().tolist()}
    save("grey.jpg", Image.fromarray(grey, "L"), quality=95)
    expected["grey.jpg"] = {"channels": 1, "pixels": np.asarray(Image.open(os.path.join(IM, "grey.jpg"))).flatten().tolist()}
    for k in expected:
        expected[k]["width"], expected[k]["height"] = w, h
    with open(os.path.join(IM, "images_expected.json"), "w") as f:
        json.dump(expected, f)


def main():
    if not os.path.exists(os.path.join(SHARED, "labels.nii.gz")):
        sys.exit(f"missing {SHARED}/labels.nii.gz (the shared data folder beside the repository)")
    os.makedirs(MD, exist_ok=True)
    os.makedirs(IM, exist_ok=True)
    dice_fixtures()
    orientation_fixtures()
    grid_fixtures()
    image_fixtures()
    print("fixtures written")


if __name__ == "__main__":
    main()
