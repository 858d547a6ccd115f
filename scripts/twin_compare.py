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

Per group (heads, rates) also the norm-relative difference ||a - b||_2 / ||b||_2 over all the group's elements
(of the models, of the meta-gradients, and with --init of the updates) and the fraction of elements whose
update has the opposite sign in a and b (a_u * b_u < 0). Everything is compared in float64, so a float64 run
(scripts/twin_meta_train.py --float64) serves as the reference b.
"""
import argparse
import json
import os
import sys

import torch

LSLR = "lslr."


def zero_by_construction(name):
    name = name[len(LSLR):] if name.startswith(LSLR) else name
    return name.endswith(".k_proj.bias") or (name.startswith("fmad.") and name.endswith(".ffn.lin2.bias"))


def load(path):
    """{name: float64 tensor} of the heads and rates of a model file or run folder (float32 values exactly)."""
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
    return path, {k: v.double() for k, v in state.items() if not k.startswith("image_encoder.")}


def load_moments(run):
    """{name: AdamW first moment} of a run's resume state (toolkit state.safetensors or twin state.pth), or None.
    After the first outer step the moment is (1 - beta1) times the meta-gradient: the gradients, compared."""
    if os.path.exists(os.path.join(run, "state.safetensors")):
        from safetensors.torch import load_file
        return {k[len("adam.m."):]: v.double() for k, v in load_file(os.path.join(run, "state.safetensors")).items()
                if k.startswith("adam.m.")}
    if os.path.exists(os.path.join(run, "state.pth")):
        s = torch.load(os.path.join(run, "state.pth"), map_location="cpu", weights_only=False)
        names = list(s["params"]) + [LSLR + n for n in s["rates"]]
        state = s["optimiser"]["state"]
        return {n: state[i]["exp_avg"].double() for i, n in enumerate(names) if i in state}
    return None


def initial_rates(init, b, runs):
    """An init model without lslr.* (ssmsam ssm init) starts every rate at the run's inner_rate_init (run.json of
    a run folder compared): those rates, {lslr.name: float64 tensor} shaped like b's, else {}."""
    missing = [k for k in b if k.startswith(LSLR) and k not in init]
    for run in runs:
        record = os.path.join(run, "run.json") if os.path.isdir(run) else None
        if missing and record and os.path.exists(record):
            with open(record) as f:
                alpha = json.load(f).get("inner_rate_init")
            if alpha is not None:
                alpha = float(torch.tensor(alpha, dtype=torch.float32))  # the rate as both sides hold it
                return {k: torch.full_like(b[k], alpha) for k in missing}
    return {}


def norm_rel(a, b, keys):
    """||a - b||_2 / ||b||_2 over every element of the tensors `keys` (a's reshaped to b's)."""
    if not keys:
        return 0.0
    diff = sum(float(((a[k].reshape(b[k].shape) - b[k]) ** 2).sum()) for k in keys)
    ref = sum(float((b[k] ** 2).sum()) for k in keys)
    return (diff ** 0.5) / max(ref ** 0.5, 1e-300)


def opposite_signs(ua, ub, keys):
    """(elements whose updates have opposite signs, elements) over the tensors `keys`."""
    return sum(int((ua[k] * ub[k] < 0).sum()) for k in keys), sum(ub[k].numel() for k in keys)


def median(values):
    v = sorted(values)
    return 0.0 if not v else (v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2)


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
    if init is not None:
        init.update(initial_rates(init, b, (args.a, args.b)))
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
    groups = (("heads", heads), ("rates (lslr.*)", rates))
    print("  norm-relative ||a-b||/||b||: " + ", ".join(f"{label} {norm_rel(a, b, keys):.3e}" for label, keys in groups))
    ma = load_moments(args.a) if os.path.isdir(args.a) else None
    mb = load_moments(args.b) if os.path.isdir(args.b) else None
    grad_rel = None
    if ma is not None and mb is not None and set(ma) == set(mb):
        rel = {k: float((ma[k].reshape(mb[k].shape) - mb[k]).abs().max()) / max(float(mb[k].abs().max()), 1e-30) for k in ma}
        for label, keys in (("heads", heads), ("rates (lslr.*)", rates)):
            r, k = max(((rel[k], k) for k in keys if k in rel), default=(0.0, "-"))
            print(f"  meta-gradients (AdamW first moments): {label} max rel diff {r:.3e} (worst {k})")
        grad_rel = max(rel[k] for k in heads + rates if k in rel)
        print("  meta-gradients: " + "; ".join(
            f"{label} norm-relative {norm_rel(ma, mb, [k for k in keys if k in rel]):.3e}, "
            f"median tensor max rel {median([rel[k] for k in keys if k in rel]):.3e}" for label, keys in groups))
    if init is not None:
        worst_u = 0.0
        for k in [k for k in heads + rates if k in init]:
            ua, ub = a[k] - init[k], b[k] - init[k]
            worst_u = max(worst_u, float((ua - ub).abs().max()) / max(float(ub.abs().max()), 1e-30))
        print(f"  updates (model - init), heads and rates: max rel diff {worst_u:.3e}")
        ua = {k: a[k] - init[k] for k in a if k in init}
        ub = {k: b[k] - init[k] for k in b if k in init}
        parts = []
        for label, keys in groups + (("zero-gradient-by-construction", zero),):
            keys = [k for k in keys if k in init]
            flips, n = opposite_signs(ua, ub, keys)
            parts.append(f"{label} norm-relative {norm_rel(ua, ub, keys):.3e}, opposite sign {flips}/{n} ({flips / max(n, 1):.2%})")
        print("  updates: " + "; ".join(parts))
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
