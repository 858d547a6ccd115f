#!/usr/bin/env python3
"""Compares the heads and learned rates (lslr.*) of two SSM-SAM models: a toolkit run (RUN/model.safetensors)
and a twin run (RUN/model.pth), or any two model files. The frozen base (image_encoder.*) is not compared.

    python3 scripts/twin_compare.py RUN_A RUN_B [--init M.pth] [--tolerance 1e-5]

Per tensor: max |a - b| and that over max |b| (relative). Tensors whose gradient is zero by construction
(every attention's k_proj.bias, every FMAM ffn.lin2.bias; scripts/ssmsam_twin/README.md) are reported apart,
with their rates: their gradients are float32 rounding noise, and AdamW's first step (about lr * sign(g)) turns
that noise into steps of either sign, so only their absolute difference (at most 2 lr per step) means anything.
With --init, also the updates (model - init) against each other. Exits 1 when a relative difference of the
other tensors exceeds --tolerance. Last line: `max abs diff X, max rel diff Y`.
"""
import argparse
import os
import sys

import torch

LSLR = "lslr."


def zero_by_construction(name):
    name = name[len(LSLR):] if name.startswith(LSLR) else name
    return name.endswith(".k_proj.bias") or (name.startswith("fmad.") and name.endswith(".ffn.lin2.bias"))


def load(path):
    """{name: float32 tensor} of the heads and rates of a model file or run folder."""
    if os.path.isdir(path):
        for name in ("model.safetensors", "model.pth"):
            if os.path.exists(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
        else:
            sys.exit(f"twin_compare: {path}: no model.safetensors or model.pth in the run folder")
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file
            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 (the message names the file)
        sys.exit(f"twin_compare: {path}: not a readable model ({type(e).__name__}: {e})")
    return path, {k: v.float() for k, v in state.items() if not k.startswith("image_encoder.")}


def load_moments(run):
    """{name: AdamW first moment} of a run's resume state (toolkit state.safetensors or twin state.pth), or None.
    After the first outer step the moment is (1 - beta1) times the meta-gradient: the gradients, compared."""
    if os.path.exists(os.path.join(run, "state.safetensors")):
        from safetensors.torch import load_file
        return {k[len("adam.m."):]: v for k, v in load_file(os.path.join(run, "state.safetensors")).items() if k.startswith("adam.m.")}
    if os.path.exists(os.path.join(run, "state.pth")):
        s = torch.load(os.path.join(run, "state.pth"), map_location="cpu", weights_only=False)
        names = list(s["params"]) + [LSLR + n for n in s["rates"]]
        state = s["optimiser"]["state"]
        return {n: state[i]["exp_avg"] for i, n in enumerate(names) if i in state}
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a")
    ap.add_argument("b", help="the reference (relative differences are over its values)")
    ap.add_argument("--init", help="the starting model: also compare the updates")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    args = ap.parse_args()
    pa, a = load(args.a)
    pb, b = load(args.b)
    if set(a) != set(b):
        only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        sys.exit(f"twin_compare: {pa} vs {pb}: different tensors: only in the first {only_a[:5]} ({len(only_a)}), "
                 f"only in the second {only_b[:5]} ({len(only_b)})")
    for k in a:
        if a[k].shape != b[k].shape:
            sys.exit(f"twin_compare: {k}: shape {tuple(a[k].shape)} in {pa}, {tuple(b[k].shape)} in {pb}")
    init = load(args.init)[1] if args.init else None
    rows = {}
    for k in sorted(a):
        d = float((a[k] - b[k]).abs().max())
        rows[k] = (d, d / max(float(b[k].abs().max()), 1e-30))
    worst = lambda keys: max(((rows[k][1], rows[k][0], k) for k in keys), default=(0.0, 0.0, "-"))  # noqa: E731
    heads = [k for k in rows if not k.startswith(LSLR) and not zero_by_construction(k)]
    rates = [k for k in rows if k.startswith(LSLR) and not zero_by_construction(k)]
    zero = [k for k in rows if zero_by_construction(k)]
    print(f"compared {pa} with {pb}: {len(heads) + len(zero) - len([k for k in zero if k.startswith(LSLR)])} head tensors, "
          f"{len([k for k in rows if k.startswith(LSLR)])} rate tensors")
    for label, keys in (("heads", heads), ("rates (lslr.*)", rates)):
        rel, ab, k = worst(keys)
        print(f"  {label}: max abs diff {max((rows[k][0] for k in keys), default=0):.3e}, max rel diff {rel:.3e} (worst {k})")
    if zero:
        za = max(rows[k][0] for k in zero)
        print(f"  zero-gradient-by-construction tensors and their rates ({len(zero)}; rounding-noise gradients): max abs diff {za:.3e}")
    ma = load_moments(args.a) if os.path.isdir(args.a) else None
    mb = load_moments(args.b) if os.path.isdir(args.b) else None
    grad_rel = None
    if ma is not None and mb is not None and set(ma) == set(mb):
        rel = {k: float((ma[k].reshape(mb[k].shape) - mb[k]).abs().max()) / max(float(mb[k].abs().max()), 1e-30) for k in ma}
        for label, keys in (("heads", heads), ("rates (lslr.*)", rates)):
            r, k = max(((rel[k], k) for k in keys if k in rel), default=(0.0, "-"))
            print(f"  meta-gradients (AdamW first moments): {label} max rel diff {r:.3e} (worst {k})")
        grad_rel = max(rel[k] for k in heads + rates if k in rel)
    if init is not None:
        worst_u = 0.0
        for k in [k for k in heads + rates if k in init]:
            ua, ub = a[k] - init[k], b[k] - init[k]
            worst_u = max(worst_u, float((ua - ub).abs().max()) / max(float(ub.abs().max()), 1e-30))
        print(f"  updates (model - init), heads and rates: max rel diff {worst_u:.3e}")
    keys = heads + rates
    max_abs = max(rows[k][0] for k in keys)
    max_rel = worst(keys)[0]
    if grad_rel is None:
        print(f"max abs diff {max_abs:.3e}, max rel diff {max_rel:.3e}")
        sys.exit(0 if max_rel <= args.tolerance else 1)
    print(f"max abs diff {max_abs:.3e}, max rel diff {max_rel:.3e} (updated heads and rates); meta-gradients max rel diff {grad_rel:.3e}")
    sys.exit(0 if grad_rel <= args.tolerance else 1)


if __name__ == "__main__":
    main()
