#!/usr/bin/env python3
"""Times the SAM image encoder of a peer on the benchmark weights and input (bench/make_vit_b.py).

  python3 bench/encoder_peer.py torch|ort DIR RUNS
prints one line of JSON: {"peer", "times": [...], "peak_rss_mib"}. 2 threads, as performance.md says.
ORT: exports DIR/encoder.onnx once (torch.onnx.export, opset 17, constant folding), two warm-up runs.
"""
import json, os, resource, sys, time
import torch
from safetensors.torch import load_file
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "stubs"))
from segment_anything import sam_model_registry

peer, d, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(2)
x = load_file(os.path.join(d, "input.safetensors"))["input"]


def encoder():
    sam = sam_model_registry["vit_b"]()
    sam.load_state_dict(load_file(os.path.join(d, "vit_b.safetensors")))
    return sam.image_encoder.eval()


times = []
if peer == "torch":
    enc = encoder()
    with torch.inference_mode():
        out = enc(x)  # warm-up
        for _ in range(runs):
            t0 = time.perf_counter(); out = enc(x); times.append(time.perf_counter() - t0)
    if os.environ.get("SAVE_EMBEDDING"):
        from safetensors.torch import save_file
        save_file({"embedding": out.contiguous()}, os.environ["SAVE_EMBEDDING"])
elif peer == "ort":
    import onnxruntime as ort
    path = os.path.join(d, "encoder.onnx")
    if not os.path.exists(path):
        enc = encoder()
        with torch.no_grad():
            torch.onnx.export(enc, (x,), path + ".tmp", opset_version=17, do_constant_folding=True,
                              input_names=["image"], output_names=["embedding"], dynamo=False)
        os.replace(path + ".tmp", path)
        del enc
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    feed = {"image": x.numpy()}
    for _ in range(2):
        sess.run(None, feed)  # its first timed run is slow even after one warm-up
    for _ in range(runs):
        t0 = time.perf_counter(); sess.run(None, feed); times.append(time.perf_counter() - t0)
else:
    sys.exit(f"unknown peer {peer}")
print(json.dumps({"peer": peer, "times": times, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
