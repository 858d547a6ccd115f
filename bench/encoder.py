#!/usr/bin/env python3
"""SAM vit_b image encoder at 1024, 2 threads: the toolkit vs PyTorch CPU vs ONNX Runtime, same run.

  python3 bench/encoder.py [--dir /tmp/ssmsam-bench] [--rounds 2] [--runs 2] [--peers toolkit,toolkit-bf16,torch,ort,gemm]
Writes the weights if absent (bench/make_vit_b.py), builds sam-bench and gemm-bench (release), then alternates
the peers `rounds` times with `runs` timed runs each, and prints medians, min/max, GFLOP/s (972.08 GFLOP,
performance.md), ratios and peak RSS. `toolkit-bf16` is the toolkit with --precision bf16 (where the CPU has
it); `gemm` measures the toolkit's GEMM peak on vit_b's linear shapes in each round (gemm-bench --peak), and
the encoder's GFLOP/s is reported as a fraction of it. Nothing is set in the environment but the thread count.
"""
import argparse, json, os, resource, statistics, subprocess, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GFLOP = 972.08
ap = argparse.ArgumentParser()
ap.add_argument("--dir", default="/tmp/ssmsam-bench")
ap.add_argument("--rounds", type=int, default=2)
ap.add_argument("--runs", type=int, default=2)
ap.add_argument("--peers", default="toolkit,toolkit-bf16,torch,ort,gemm")
ap.add_argument("--coretype", help="run the toolkit with this OPENBLAS_CORETYPE (e.g. SkylakeX for OpenBLAS's "
                "AVX-512 kernels; the machines here force Haswell, and tests and CI keep that)")
a = ap.parse_args()
env = dict(os.environ, OPENBLAS_NUM_THREADS="2", PYTHONPATH=os.path.join(ROOT, "scripts", "stubs"))
if not os.path.exists(os.path.join(a.dir, "vit_b.safetensors")):
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make_vit_b.py"), a.dir], check=True, env=env)
for product in ("sam-bench", "gemm-bench"):
    subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
binary = os.path.join(ROOT, ".build", "release", "sam-bench")
gemm_binary = os.path.join(ROOT, ".build", "release", "gemm-bench")


def run(peer):
    if peer == "gemm":
        p = subprocess.run([gemm_binary, "--peak", "5"], capture_output=True, text=True, check=True, env=env)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        return dict(out, times=[], peak_rss_mib=0)
    if peer in ("toolkit", "toolkit-bf16"):
        tenv = dict(env, SAM_BENCH_PRECISION="bf16" if peer == "toolkit-bf16" else "fp32")
        if a.coretype:
            tenv["OPENBLAS_CORETYPE"] = a.coretype
            tenv.pop("OPENBLAS_L2_SIZE", None)
        p = subprocess.run(["/usr/bin/env", "python3", "-c",
                            "import resource,subprocess,sys,json,re;"
                            f"r=subprocess.run({[binary, os.path.join(a.dir, 'vit_b.safetensors'), os.path.join(a.dir, 'input.safetensors'), str(a.runs)]!r},capture_output=True,text=True,check=True);"
                            "t=[float(m) for i,m in re.findall(r'run (\\d+): ([0-9.]+) s',r.stderr) if i!='0'];"
                            "print(json.dumps({'peer':'toolkit','line':r.stdout.strip().splitlines()[0],'times':t,'peak_rss_mib':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024}))"],
                           capture_output=True, text=True, check=True, env=tenv)
    else:
        p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "encoder_peer.py"), peer, a.dir, str(a.runs)],
                           capture_output=True, text=True, check=True, env=env)
    return json.loads(p.stdout.strip().splitlines()[-1])


peers = a.peers.split(",")
if "toolkit-bf16" in peers:
    probe = subprocess.run([gemm_binary, "--peak", "1"], capture_output=True, text=True, check=True, env=env)
    if "bf16_gflops" not in probe.stdout:
        print("toolkit-bf16: left out, this CPU has neither AMX-BF16 nor AVX512-BF16 (or oneDNN is missing)", file=sys.stderr)
        peers.remove("toolkit-bf16")
with open("/proc/cpuinfo") as f:
    info = f.read()
field = lambda k: next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith(k)), "?")
print(f"processor: {field('model name')} (family {field('cpu family')} model {field('model')}), {os.cpu_count()} CPUs; "
      f"OPENBLAS_CORETYPE {os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
results = {p: {"times": [], "rss": 0.0} for p in peers}
peaks = {"fp32_gflops": [], "bf16_gflops": []}
for r in range(a.rounds):
    for p in peers:
        out = run(p)
        if p == "gemm":
            for k in peaks:
                if k in out:
                    peaks[k].append(out[k])
            print(f"round {r + 1} gemm peak: {out.get('fp32_gflops')} GFLOP/s fp32, {out.get('bf16_gflops', '-')} bf16 ({out['engine']})", file=sys.stderr)
            continue
        if "line" in out and r == 0:
            print(f"{p}: {out['line']}", file=sys.stderr)
        results[p]["times"] += out["times"]
        results[p]["rss"] = max(results[p]["rss"], out["peak_rss_mib"])
        print(f"round {r + 1} {p}: " + ", ".join(f"{t:.2f}" for t in out["times"]) + " s", file=sys.stderr)
timed = [p for p in peers if p != "gemm"]
print(f"{'peer':13} {'median s':>9} {'min':>7} {'max':>7} {'GFLOP/s':>8} {'peak RSS MiB':>13}  time / toolkit fp32")
med = {p: statistics.median(results[p]["times"]) for p in timed}
for p in timed:
    v = results[p]
    ratio = f"{med[p] / med['toolkit']:.2f}x" if "toolkit" in med and p != "toolkit" else ""
    print(f"{p:13} {med[p]:9.2f} {min(v['times']):7.2f} {max(v['times']):7.2f} {GFLOP / med[p]:8.1f} {v['rss']:13.0f}  {ratio}")
for key, peer in (("fp32_gflops", "toolkit"), ("bf16_gflops", "toolkit-bf16")):
    if peaks[key] and peer in med:
        peak = statistics.median(peaks[key])
        print(f"{peer}: {GFLOP / med[peer]:.1f} GFLOP/s = {100 * GFLOP / med[peer] / peak:.0f}% of the {key.split('_')[0]} GEMM peak "
              f"measured in this run ({peak:.1f} GFLOP/s, median of {len(peaks[key])})")
