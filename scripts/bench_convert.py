#!/usr/bin/env python3
"""Benchmark: convert a random-init SAM vit_b checkpoint (.pth, ~375 MB) to safetensors with
`ssmsam convert` and with `torch.load` + `safetensors.torch.save_file`, reporting wall time and peak RSS
of each (separate processes, measured with wait4).

    python3 scripts/bench_convert.py [--ssmsam .build/release/ssmsam] [--dir /tmp/ssmsam-bench]

The checkpoint is written by the real `segment_anything` code (with a stub torchvision on the path, as
docs/design notes: the model never calls it) and reused when present.
"""
import argparse, os, subprocess, sys, tempfile, time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def stub_torchvision(d):
    p = os.path.join(d, "torchvision", "transforms")
    os.makedirs(p, exist_ok=True)
    open(os.path.join(d, "torchvision", "__init__.py"), "w").write("")
    open(os.path.join(p, "__init__.py"), "w").write("")
    open(os.path.join(p, "functional.py"), "w").write(
        "def resize(*a, **k):\n    raise NotImplementedError\n\ndef to_pil_image(*a, **k):\n    raise NotImplementedError\n")
    # segment_anything's automatic mask generator imports these at module load; never called here.
    o = os.path.join(d, "torchvision", "ops")
    os.makedirs(o, exist_ok=True)
    open(os.path.join(o, "__init__.py"), "w").write("")
    open(os.path.join(o, "boxes.py"), "w").write(
        "def batched_nms(*a, **k):\n    raise NotImplementedError\n\ndef box_area(*a, **k):\n    raise NotImplementedError\n")


def make_checkpoint(path, stubdir):
    code = ("import torch; torch.manual_seed(0)\n"
            "from segment_anything import sam_model_registry\n"
            "m = sam_model_registry['vit_b'](checkpoint=None)\n"
            f"torch.save(m.state_dict(), {path!r})\n")
    env = dict(os.environ, PYTHONPATH=stubdir + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def measure(cmd):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode()
    if status != 0:
        raise SystemExit(f"{cmd[0]} failed: {err}")
    return wall, ru.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ssmsam", default=os.path.join(ROOT, ".build", "release", "ssmsam"))
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "ssmsam-bench"))
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    src = os.path.join(a.dir, "sam_vit_b_random.pth")
    if not os.path.exists(src):
        stub = os.path.join(a.dir, "stubs")
        stub_torchvision(stub)
        make_checkpoint(src, stub)
    print(f"input: {src}, {os.path.getsize(src):,} bytes")
    out_swift, out_py = os.path.join(a.dir, "swift.safetensors"), os.path.join(a.dir, "torch.safetensors")
    py = ("import sys, torch; from safetensors.torch import save_file\n"
          "sd = torch.load(sys.argv[1], map_location='cpu', weights_only=True)\n"
          "save_file({k: v.contiguous() for k, v in sd.items()}, sys.argv[2])\n")
    rows = []
    for i in range(a.repeat):
        rows.append(("ssmsam convert", *measure([a.ssmsam, "convert", src, out_swift])))
        rows.append(("torch.load + safetensors save_file", *measure([sys.executable, "-c", py, src, out_py])))
    for name in ("ssmsam convert", "torch.load + safetensors save_file"):
        r = [x for x in rows if x[0] == name]
        best = min(r, key=lambda x: x[1])
        print(f"{name:38s} wall {best[1]:6.2f} s (best of {len(r)})   peak RSS {max(x[2] for x in r):7.1f} MiB")
    # Same tensors either way.
    from safetensors.torch import load_file
    import torch
    x, y = load_file(out_swift), load_file(out_py)
    same = x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
    print(f"outputs hold identical tensors: {same} ({len(x)} tensors)")


if __name__ == "__main__":
    main()
