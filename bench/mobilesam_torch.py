#!/usr/bin/env python3
"""MobileSAM image encoder (and prompt encoder + mask decoder) timing on the reference PyTorch code
(official weights, 2 threads).

  python3 bench/mobilesam_torch.py [DIR] [runs]
  python3 bench/mobilesam_torch.py --decoder [DIR] [runs]
Writes DIR/input.safetensors (the CT slice of ../shared/data/abdomen-ct preprocessed to 1x3x1024x1024,
or a seeded random input when the data is absent) if missing, then times `sam.image_encoder` under
torch.inference_mode: one warm-up, then the median of `runs`. The toolkit side is `sam-bench` on the same
input (bench/mobilesam.sh runs both, alternating).
"""
import os, statistics, sys, time
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


# The decoder case: two foreground points, one background point and a box, in the model's input frame.
POINTS = [[420.0, 380.0], [500.0, 460.0], [300.0, 600.0]]
LABELS = [1, 1, 0]
BOX = [250.0, 250.0, 700.0, 720.0]


def make_decoder_input(sam, x, path):
    """The image embedding of the input (this code's) and the prompts, for both sides' decoder timing."""
    with torch.inference_mode():
        embedding = sam.image_encoder(x)
    save_file({"embedding": embedding.contiguous(), "points": torch.tensor(POINTS), "labels": torch.tensor(LABELS, dtype=torch.float32),
               "box": torch.tensor(BOX)}, path)


def time_decoder(sam, path, runs):
    """Prompt encoder + mask decoder (multimask, as SamPredictor's default), one warm-up, median of runs."""
    d = load_file(path)
    emb, pts, lab, box = d["embedding"], d["points"][None], d["labels"][None].long(), d["box"][None]
    times = []
    with torch.inference_mode():
        for i in range(runs + 1):
            t0 = time.perf_counter()
            sparse, dense = sam.prompt_encoder(points=(pts, lab), boxes=box, masks=None)
            low, iou = sam.mask_decoder(image_embeddings=emb, image_pe=sam.prompt_encoder.get_dense_pe(),
                                        sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=True)
            dt = time.perf_counter() - t0
            if i > 0:
                times.append(dt)
    times.sort()
    print(f"pytorch {torch.__version__} decoder: median {statistics.median(times) * 1000:.1f} ms "
          f"(min {times[0] * 1000:.1f}, max {times[-1] * 1000:.1f}) over {runs} runs, 2 threads; "
          f"iou {' '.join(f'{v:.4f}' for v in iou[0].tolist())}")


def main():
    args = [a for a in sys.argv[1:] if a != "--decoder"]
    decoder = len(args) != len(sys.argv) - 1
    out = args[0] if len(args) > 0 else "/tmp/ssmsam-bench-mobilesam"
    runs = int(args[1]) if len(args) > 1 else 3
    torch.set_num_threads(2)
    os.makedirs(out, exist_ok=True)
    sam, _ = ref.build_mobile_sam()
    sam.eval()
    path = os.path.join(out, "input.safetensors")
    if not os.path.exists(path):
        make_input(sam, path)
    decoder_path = os.path.join(out, "decoder_input.safetensors")
    if not os.path.exists(decoder_path):
        make_decoder_input(sam, load_file(path)["input"], decoder_path)
    if runs == 0:
        return
    if decoder:
        time_decoder(sam, decoder_path, runs)
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
    print(f"pytorch {torch.__version__} encoder: median {statistics.median(times):.2f} s "
          f"(min {times[0]:.2f}, max {times[-1]:.2f}) over {runs} runs, 2 threads")


if __name__ == "__main__":
    main()
