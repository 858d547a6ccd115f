#!/usr/bin/env python3
"""Writes the DICOM fixtures of MedicalDataTests with pydicom, and the same data as NIfTI with nibabel.

    pip install numpy nibabel pydicom pylibjpeg pylibjpeg-openjpeg
    python3 scripts/make_dicom_fixtures.py

MedicalDataTests/Fixtures:
  dicom_tilted/         6 uncompressed CT slices (Explicit VR Little Endian) of a 12 x 10 int16 grid, rotated
                        25 degrees about an oblique axis, spacing 0.7 x 0.8 x 2.5 mm, slope 2 / intercept -1024;
                        file names and InstanceNumbers shuffled, so only ImagePositionPatient gives the order
  dicom_tilted.nii.gz   the same HU array and RAS affine, written by nibabel
  dicom_flipped_j2k/    5 JPEG 2000 (lossless) 40 x 36 slices whose affine flips x and runs the slice axis against the
                        slice normal (a left-handed RAS affine), shuffled
  dicom_flipped_j2k.nii.gz
  dicom_uneven/         4 slices at 0, 2, 4 and 7 mm along the normal (refused: uneven spacing)
  dicom_real_expected.json
                        the real JPEG 2000 series in ../shared/data/abdomen-ct-dicom/series as pydicom (pixel data
                        decoded by pylibjpeg-openjpeg) and nibabel's as_closest_canonical see it: shape, zooms,
                        affine, per-slice HU sums and sample voxels (written only where ../shared is present)

A series and its NIfTI come from one array `hu[i, j, k]` and one RAS affine A (voxel (i, j, k) -> mm): the
DICOM side uses LPS = diag(-1, -1, 1) A, ImageOrientationPatient = the unit columns 0 and 1 of it,
PixelSpacing = [|col 1|, |col 0|], ImagePositionPatient of slice k = LPS (0, 0, k), pixel (row j, column i) =
stored[i, j, k]. The Swift tests read both and require identical Volumes.
"""
import glob
import json
import os
import random

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, generate_uid
from pydicom.valuerep import format_number_as_ds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MD = os.path.join(ROOT, "Tests", "MedicalDataTests", "Fixtures")
SERIES = os.path.join(ROOT, "..", "shared", "data", "abdomen-ct-dicom", "series")
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
SLOPE, INTERCEPT = 2.0, -1024.0


def rotation(axis, degrees):
    a = np.asarray(axis, float)
    a /= np.linalg.norm(a)
    t = np.radians(degrees)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


def ds_values(values):
    return [format_number_as_ds(float(v)) for v in values]


def write_series(folder, stored, affine, compress=False, positions=None, seed=0):
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine
    col0, col1 = lps[:3, 0], lps[:3, 1]
    dx, dy = np.linalg.norm(col0), np.linalg.norm(col1)
    iop = list(col0 / dx) + list(col1 / dy)
    nx, ny, nz = stored.shape
    name = os.path.basename(folder)  # UIDs derived from the names: the fixtures are the same on every run
    series_uid, study_uid = generate_uid(entropy_srcs=[name, "series"]), generate_uid(entropy_srcs=[name, "study"])
    rng = random.Random(seed)
    order = list(range(nz))
    rng.shuffle(order)  # the file names and InstanceNumbers follow this order, not the slices'
    for n, k in enumerate(order):
        pos = positions[k] if positions is not None else (lps @ np.array([0.0, 0.0, k, 1.0]))[:3]
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[name, str(k)])
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = CT_IMAGE_STORAGE
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.Modality = "CT"
        ds.PatientName = "Fixture^Synthetic"
        ds.InstanceNumber = n + 1
        ds.ImageOrientationPatient = ds_values(iop)
        ds.ImagePositionPatient = ds_values(pos)
        ds.PixelSpacing = ds_values([dy, dx])
        ds.SliceThickness = format_number_as_ds(float(np.linalg.norm(lps[:3, 2])))
        ds.RescaleSlope = format_number_as_ds(SLOPE)
        ds.RescaleIntercept = format_number_as_ds(INTERCEPT)
        ds.RescaleType = "HU"
        ds.Rows, ds.Columns = ny, nx
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        plane = np.ascontiguousarray(stored[:, :, k].T.astype(np.int16))  # (rows = j, columns = i)
        if compress:
            ds.compress(JPEG2000Lossless, plane, encoding_plugin="pylibjpeg")
        else:
            ds.PixelData = plane.tobytes()
        path = os.path.join(folder, f"IM{rng.randrange(10**6):06d}_{n}")
        ds.save_as(path, enforce_file_format=True)
        if compress:  # the lossless round trip through pydicom's own decoder
            assert np.array_equal(pydicom.dcmread(path).pixel_array, plane), path


def write_pair(name, stored, affine, compress=False):
    write_series(os.path.join(MD, name), stored, affine, compress=compress)
    hu = stored.astype(np.float32) * SLOPE + INTERCEPT
    nib.save(nib.Nifti1Image(hu, affine), os.path.join(MD, name + ".nii.gz"))
    print(name, stored.shape, nib.aff2axcodes(affine))


def main():
    rng = np.random.default_rng(15)
    # Tilted: a proper rotation, so the slice axis runs along the slice normal.
    r = rotation([1.0, 0.4, 0.2], 25)
    a = np.eye(4)
    a[:3, :3] = r @ np.diag([0.7, 0.8, 2.5])
    a[:3, 3] = [-40.25, 12.5, -300.75]
    stored = rng.integers(0, 1500, size=(12, 10, 6)).astype(np.int16)
    write_pair("dicom_tilted", stored, a)

    # Flipped: x mirrored and z against the normal (det < 0), JPEG 2000.
    r = rotation([0.1, 0.0, 1.0], -10) @ np.diag([-1.0, 1.0, 1.0])
    a = np.eye(4)
    a[:3, :3] = r @ np.diag([0.9, 0.9, 3.0])
    a[:3, 3] = [120.0, -80.5, 45.0]
    stored = rng.integers(0, 2000, size=(40, 36, 5)).astype(np.int16)
    write_pair("dicom_flipped_j2k", stored, a, compress=True)

    # Uneven: axial slices at 0, 2, 4, 7 mm.
    stored = rng.integers(0, 100, size=(4, 4, 4)).astype(np.int16)
    a = np.diag([-1.0, -1.0, 2.0, 1.0])
    write_series(os.path.join(MD, "dicom_uneven"), stored, a,
                 positions=[[1.0, 1.0, z] for z in (0.0, 2.0, 4.0, 7.0)])
    print("dicom_uneven", stored.shape)
    real_expected()


def real_expected():
    """The real series read independently of the toolkit: pydicom for the slices, numpy for the order and
    the affine, nibabel for the canonical orientation."""
    files = sorted(glob.glob(os.path.join(SERIES, "*")))
    if not files:
        print("dicom_real_expected.json: skipped (no", SERIES + ")")
        return
    slices = [pydicom.dcmread(f) for f in files]
    iop = np.array(slices[0].ImageOrientationPatient, float)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    slices.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal)))
    pos = np.array([d.ImagePositionPatient for d in slices], float)
    gap = float(np.dot(pos[-1] - pos[0], normal)) / (len(slices) - 1)
    dy, dx = (float(v) for v in slices[0].PixelSpacing)
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = row * dx, col * dy, normal * gap, pos[0]
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    hu = np.stack([d.pixel_array.T.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept)
                   for d in slices], axis=2).astype(np.float32)
    canon = nib.as_closest_canonical(nib.Nifti1Image(hu, affine))
    data = np.asarray(canon.dataobj)
    rng = np.random.default_rng(11)
    samples = [[int(rng.integers(0, n)) for n in data.shape] for _ in range(20)]
    out = {
        "shape": list(data.shape),
        "zooms": [float(z) for z in canon.header.get_zooms()],
        "affine": canon.affine.tolist(),
        "source_codes": "".join(nib.aff2axcodes(affine)),
        "min": float(data.min()), "max": float(data.max()),
        "slice_sums": [float(data[:, :, k].astype(np.float64).sum()) for k in range(data.shape[2])],
        "samples": [[i, j, k, float(data[i, j, k])] for i, j, k in samples],
    }
    with open(os.path.join(MD, "dicom_real_expected.json"), "w") as f:
        json.dump(out, f, indent=1)
    print("dicom_real_expected.json", out["shape"], out["zooms"], out["source_codes"], out["min"], out["max"])


if __name__ == "__main__":
    main()
