#!/usr/bin/env python3
"""Checks that files written by the Swift toolkit load in the reference libraries, bit for bit.

For each source checkpoint: `ssmsam convert SRC a.safetensors`, `ssmsam convert a.safetensors b.pth`,
then `safetensors.torch.load_file(a)` and `torch.load(b, weights_only=True)` must hold the same names,
dtypes, shapes and bytes as `torch.load(SRC)`.

    python3 scripts/check_roundtrip.py [--ssmsam .build/debug/ssmsam] [SRC ...]
Without SRC: the fixtures plus ~/.cache/ssmsam/models/mobile_sam.pt when present.
"""
import argparse, os, subprocess, sys, tempfile
import torch
from safetensors.torch import load_file

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FIX = os.path.join(ROOT, "Tests", "FormatsTests", "Fixtures")


def flat(obj, key=None):
    if key:
        for k in key.split("."):
            obj = obj[k]
    return {k: v for k, v in obj.items()}


def same(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    a, b = a.contiguous(), b.contiguous()
    if a.dtype == torch.bool:
        return torch.equal(a, b)
    if a.numel() == 0:
        return True
    return torch.equal(a.reshape(-1).view(torch.uint8), b.reshape(-1).view(torch.uint8))


def check(ssmsam, src, key, tmp):
    ref = flat(torch.load(src, map_location="cpu", weights_only=True), key)
    st, pth = os.path.join(tmp, "a.safetensors"), os.path.join(tmp, "b.pth")
    args = ["--key", key] if key else []
    subprocess.run([ssmsam, "convert", src, st] + args, check=True, capture_output=True)
    subprocess.run([ssmsam, "convert", st, pth], check=True, capture_output=True)
    got_st = load_file(st)
    got_pth = torch.load(pth, map_location="cpu", weights_only=True)
    bad = []
    for name, want in ref.items():
        for label, got in (("safetensors", got_st), ("pth", got_pth)):
            if name not in got or not same(want, got[name]):
                bad.append(f"{label}:{name}")
    extra = (set(got_st) | set(got_pth)) - set(ref)
    order_ok = list(got_pth.keys()) == list(got_st.keys()) or sorted(got_pth) == sorted(ref)
    n = sum(v.numel() for v in ref.values())
    status = "OK" if not bad and not extra and order_ok else "FAIL"
    print(f"{status}  {os.path.basename(src)}{' --key ' + key if key else ''}: {len(ref)} tensors, {n} values, "
          f"dtypes {sorted({str(v.dtype).replace('torch.', '') for v in ref.values()})}; "
          f"safetensors and torch.load(weights_only=True) bit-identical"
          + (f"; mismatches {bad[:5]}" if bad else "") + (f"; extra {sorted(extra)[:5]}" if extra else ""))
    return status == "OK"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ssmsam", default=os.path.join(ROOT, ".build", "debug", "ssmsam"))
    ap.add_argument("sources", nargs="*")
    a = ap.parse_args()
    srcs = [(s, None) for s in a.sources]
    if not srcs:
        srcs = [(os.path.join(FIX, "sam_zip.pth"), None), (os.path.join(FIX, "sam_legacy.pth"), None),
                (os.path.join(FIX, "sam_bigendian.pth"), None), (os.path.join(FIX, "sam_nested.pth"), "model")]
        m = os.path.expanduser(os.environ.get("SSMSAM_MODELS", "~/.cache/ssmsam/models") + "/mobile_sam.pt")
        if os.path.exists(m):
            srcs.append((m, None))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for s, k in srcs:
            ok &= check(a.ssmsam, s, k, tmp)
    print("all round trips bit-identical" if ok else "ROUND TRIP FAILURES")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
