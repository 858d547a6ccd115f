#!/usr/bin/env python3
"""SAM vit_b image encoder at 1024, 2 threads: the toolkit vs PyTorch CPU vs ONNX Runtime, same run.

  python3 bench/encoder.py [--dir /tmp/ssmsam-bench] [--rounds 2] [--runs 2]
Writes the weights if absent (bench/make_vit_b.py), builds sam-bench (release), then alternates
toolkit / PyTorch / ONNX Runtime `rounds` times with `runs` timed runs each, and prints medians,
min/max, GFLOP/s (972.08 GFLOP, performance.md), ratios and peak RSS.
"""
import argparse, json, os, resource, statistics, subprocess, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GFLOP = 972.08
ap = argparse.ArgumentParser()
ap.add_argument("--dir", default="/tmp/ssmsam-bench")
ap.add_argument("--rounds", type=int, default=2)
ap.add_argument("--runs", type=int, default=2)
ap.add_argument("--peers", default="toolkit,torch,ort")
ap.add_argument("--coretype", help="run the toolkit with this OPENBLAS_CORETYPE (e.g. SkylakeX for OpenBLAS's "
                "AVX-512 kernels; the machines here force Haswell, and tests and CI keep that)")
a = ap.parse_args()
env = dict(os.environ, OPENBLAS_NUM_THREADS="2", PYTHONPATH=os.path.join(ROOT, "scripts", "stubs"))
if not os.path.exists(os.path.join(a.dir, "vit_b.safetensors")):
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make_vit_b.py"), a.dir], check=True, env=env)
subprocess.run(["swift", "build", "-c", "release", "--product", "sam-bench"], cwd=ROOT, check=True,
               stdout=subprocess.DEVNULL)
binary = os.path.join(ROOT, ".build", "release", "sam-bench")


def run(peer):
    if peer == "toolkit":
        tenv = dict(env)
        if a.coretype:
            tenv["OPENBLAS_CORETYPE"] = a.coretype
            tenv.pop("OPENBLAS_L2_SIZE", None)
        p = subprocess.run(["/usr/bin/env", "python3", "-c",
                            "import resource,subprocess,sys,json,re;"
                            f"r=subprocess.run({[binary, os.path.join(a.dir, 'vit_b.safetensors'), os.path.join(a.dir, 'input.safetensors'), str(a.runs)]!r},capture_output=True,text=True,check=True);"
                            "t=[float(m) for i,m in re.findall(r'run (\\d+): ([0-9.]+) s',r.stderr) if i!='0'];"
                            "print(json.dumps({'peer':'toolkit','times':t,'peak_rss_mib':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024}))"],
                           capture_output=True, text=True, check=True, env=tenv)
    else:
        p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "encoder_peer.py"), peer, a.dir, str(a.runs)],
                           capture_output=True, text=True, check=True, env=env)
    return json.loads(p.stdout.strip().splitlines()[-1])


peers = a.peers.split(",")
results = {p: {"times": [], "rss": 0.0} for p in peers}
for r in range(a.rounds):
    for p in peers:
        out = run(p)
        results[p]["times"] += out["times"]
        results[p]["rss"] = max(results[p]["rss"], out["peak_rss_mib"])
        print(f"round {r + 1} {p}: " + ", ".join(f"{t:.2f}" for t in out["times"]) + " s", file=sys.stderr)
print(f"{'peer':10} {'median s':>9} {'min':>7} {'max':>7} {'GFLOP/s':>8} {'peak RSS MiB':>13}  toolkit speed-up")
med = {p: statistics.median(v["times"]) for p, v in results.items()}
for p, v in results.items():
    ratio = f"{med[p] / med['toolkit']:.2f}x" if "toolkit" in med and p != "toolkit" else ""
    print(f"{p:10} {med[p]:9.2f} {min(v['times']):7.2f} {max(v['times']):7.2f} {GFLOP / med[p]:8.1f} {v['rss']:13.0f}  {ratio}")
