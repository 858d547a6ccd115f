#!/usr/bin/env python3
"""Checks an `ssmsam eval` / `ablate` output folder with nibabel, as 3D Slicer or ITK-SNAP would open it:
every prediction_<organ>[_<method>].nii.gz has the label volume's shape and affine (so it lies on the scan),
and the 3-D Dice recomputed from the file over the record's query slices equals record.json's.

  python3 scripts/check_predictions.py OUT_DIR LABELS.nii.gz [--preset totalseg]

Exits non-zero on any difference; the last line is `predictions aligned, Dice as recorded (N files)`.
"""
import argparse, glob, json, os, sys

import nibabel as nib
import numpy as np

PRESETS = {"totalseg": {"spleen": 1, "right_kidney": 2, "left_kidney": 3, "liver": 5},
           "synapse": {"spleen": 1, "right_kidney": 2, "left_kidney": 3, "liver": 6},
           "chaos": {"liver": 1, "right_kidney": 2, "left_kidney": 3, "spleen": 4}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("labels")
    ap.add_argument("--preset", default="totalseg")
    a = ap.parse_args()
    record = json.load(open(os.path.join(a.out, "record.json")))
    truth_img = nib.load(a.labels)
    truth = np.asarray(truth_img.dataobj).astype(np.int64)
    ids = PRESETS[a.preset]
    checked = 0
    for organ, result in record["organs"].items():
        supports = {c["support"] for c in result["chunks"]}
        queries = sorted({k for c in result["chunks"] for k in c["slices"]} - supports)
        for method, r in result["methods"].items():
            name = f"prediction_{organ}.nii.gz" if method == record["primary_method"] else f"prediction_{organ}_{method}.nii.gz"
            img = nib.load(os.path.join(a.out, name))
            if img.shape != truth_img.shape or not np.allclose(img.affine, truth_img.affine, atol=1e-4):
                sys.exit(f"{name}: shape {img.shape} / affine\n{img.affine}\nvs the labels' {truth_img.shape} /\n{truth_img.affine}")
            pred = np.asarray(img.dataobj)
            # The record's slice indices are along the canonical (RAS) third axis: reorient both to RAS.
            p = nib.as_closest_canonical(img).get_fdata()[..., queries] == ids[organ]
            t = nib.as_closest_canonical(truth_img).get_fdata()[..., queries] == ids[organ]
            dice = 2 * (p & t).sum() / (p.sum() + t.sum()) if p.sum() + t.sum() else 1.0
            if abs(dice - r["dice"]) > 1e-9:
                sys.exit(f"{name}: Dice from the file {dice:.6f}, record.json {r['dice']:.6f}")
            if pred.dtype != np.uint8:
                sys.exit(f"{name}: stored as {pred.dtype}, expected uint8")
            print(f"{name}: shape {img.shape}, affine equal, Dice {dice:.4f} = record")
            checked += 1
    print(f"predictions aligned, Dice as recorded ({checked} files)")


if __name__ == "__main__":
    main()
