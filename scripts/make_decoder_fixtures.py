#!/usr/bin/env python3
"""Prompt encoder + mask decoder parity fixtures on the REAL MobileSAM weights (SAM's own decoder).

One real image embedding (the reference MobileSAM encoder on the abdominal CT slice of
make_mobilesam_fixtures.py) is stored in float16; the reference prompt encoder and mask decoder then run
on exactly that embedding (upcast to float32), so both implementations see identical inputs.
Writes Tests/SAMTests/Fixtures/mobilesam_decoder.safetensors (no weights: the test needs the checkpoint).
Run: python3 scripts/make_decoder_fixtures.py   (pip install torch==2.13.0+cpu safetensors nibabel pillow)
"""
import json, os, sys
import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mobilesam_reference as ref
from make_mobilesam_fixtures import ct_slice, resized_size

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "SAMTests", "Fixtures", "mobilesam_decoder.safetensors")
CASES = {  # prompts in the 1024 input frame
    "point_multimask": dict(points=[[300.0, 420.0]], labels=[1], box=None, multimask=True),
    "box": dict(points=None, labels=None, box=[90.0, 230.0, 560.0, 760.0], multimask=False),
    "points_box": dict(points=[[300.0, 420.0], [700.0, 500.0]], labels=[1, 0], box=[90.0, 230.0, 560.0, 760.0], multimask=False),
}


def main():
    ref.import_modeling()
    sam, _ = ref.build_mobile_sam()
    image, _ = ct_slice()
    h, w = image.shape[:2]
    rh, rw = resized_size(h, w)
    resized = np.array(Image.fromarray(image).resize((rw, rh), Image.BILINEAR))
    x = sam.preprocess(torch.as_tensor(resized).permute(2, 0, 1)[None].float())
    out = {}
    with torch.no_grad():
        emb16 = sam.image_encoder(x).half()
        emb = emb16.float()
        out["embedding"] = emb16
        for name, c in CASES.items():
            pts = None
            if c["points"]:
                pts = (torch.tensor([c["points"]]), torch.tensor([c["labels"]], dtype=torch.float32))
            box = torch.tensor([c["box"]]) if c["box"] else None
            sparse, dense = sam.prompt_encoder(points=pts, boxes=box, masks=None)
            low, iou = sam.mask_decoder(image_embeddings=emb, image_pe=sam.prompt_encoder.get_dense_pe(),
                                        sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                        multimask_output=c["multimask"])
            out[f"{name}.low_res_logits"] = low
            out[f"{name}.iou"] = iou
            print(name, "iou", iou.flatten().tolist(), "positive low-res pixels", int((low > 0).sum()))
    save_file({k: v.contiguous() for k, v in out.items()}, OUT,
              metadata={"cases": json.dumps(CASES), "checkpoint_sha256": ref.CHECKPOINT_SHA256})
    print("wrote", os.path.normpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
