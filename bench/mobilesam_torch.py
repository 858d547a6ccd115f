#!/usr/bin/env python3
"""MobileSAM image encoder timing on the reference PyTorch code (official weights, 2 threads).

  python3 bench/mobilesam_torch.py [DIR] [runs]
Writes DIR/input.safetensors (the CT slice of ../shared/data/abdomen-ct preprocessed to 1x3x1024x1024,
or a seeded random input when the data is absent) if missing, then times `sam.image_encoder` under
torch.inference_mode: one warm-up, then the median of `runs`. The toolkit side is `sam-bench` on the same
input (bench/mobilesam.sh runs both, alternating).
"""
import os, sys, time
import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file, load_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import mobilesam_reference as ref


def make_input(sam, path):
    try:
        import make_mobilesam_fixtures as fx
        image, _ = fx.ct_slice()
    except Exception as e:  # no nibabel or no data: a seeded random image
        print("input: random image (", e, ")")
        image = np.random.default_rng(0).integers(0, 256, (101, 122, 3), dtype=np.uint8)
    h, w = image.shape[:2]
    scale = 1024 / max(h, w)
    rh, rw = int(h * scale + 0.5), int(w * scale + 0.5)
    resized = np.array(Image.fromarray(image).resize((rw, rh), Image.BILINEAR))
    x = sam.preprocess(torch.as_tensor(resized).permute(2, 0, 1)[None].float())
    save_file({"input": x.contiguous()}, path)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ssmsam-bench-mobilesam"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(2)
    os.makedirs(out, exist_ok=True)
    sam, _ = ref.build_mobile_sam()
    path = os.path.join(out, "input.safetensors")
    if not os.path.exists(path):
        make_input(sam, path)
    if runs == 0:
        return
    x = load_file(path)["input"]
    times = []
    with torch.inference_mode():
        for i in range(runs + 1):
            t0 = time.perf_counter()
            sam.image_encoder(x)
            dt = time.perf_counter() - t0
            print(f"run {i}: {dt:.2f} s{' (warm-up)' if i == 0 else ''}", file=sys.stderr)
            if i > 0:
                times.append(dt)
    times.sort()
    print(f"pytorch {torch.__version__} encoder: median {times[len(times) // 2]:.2f} s "
          f"(min {times[0]:.2f}, max {times[-1]:.2f}) over {runs} runs, 2 threads")


if __name__ == "__main__":
    main()
