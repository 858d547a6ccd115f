#!/usr/bin/env python3
"""Hugging Face `save_pretrained` folders of a tiny random transformers.SamModel, and its outputs.

Writes into Tests/SAMTests/Fixtures/:
  hf_tiny/          config.json + model.safetensors, as SamModel.save_pretrained writes them
  hf_tiny_sharded/  the same model saved in shards (model.safetensors.index.json + model-0000N-of-0000M.safetensors)
  hf_tiny_outputs.safetensors  SamModel's own outputs: the input `pixel_values`, the image embedding, and for
                    each prompt case the low-res masks (`<case>.masks`, 1 x K x 4g x 4g) and IoU (`<case>.iou`)
The mask decoder keeps transformers' layer_norm_eps 1e-6 (the official SAM uses 1e-5 there), so the toolkit
matches these outputs only if it honours config.json. Everything is tiny (image 64, patch 8): the folders are
a few hundred KB together.
Run: python3 scripts/make_hf_folder_fixtures.py   (torch, transformers, safetensors)
"""
import json, os, shutil
import torch
from safetensors.torch import save_file
import transformers
from transformers import SamConfig, SamModel, SamVisionConfig, SamPromptEncoderConfig, SamMaskDecoderConfig

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SAMTests", "Fixtures")
IMAGE, PATCH = 64, 8
config = SamConfig(
    vision_config=SamVisionConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_dim=64,
                                  image_size=IMAGE, patch_size=PATCH, window_size=3, global_attn_indexes=[1],
                                  output_channels=16, num_pos_feats=8),
    prompt_encoder_config=SamPromptEncoderConfig(hidden_size=16, image_size=IMAGE, patch_size=PATCH, mask_input_channels=8),
    mask_decoder_config=SamMaskDecoderConfig(hidden_size=16, mlp_dim=32, num_attention_heads=2, iou_head_hidden_dim=16),
)
assert config.mask_decoder_config.layer_norm_eps == 1e-6

torch.manual_seed(15)
model = SamModel(config).eval()
with torch.no_grad():
    # transformers initialises the relative and absolute position tables to zero and linear layers at std 0.02:
    # give every tensor random values so that every path is exercised, keeping the decoder's scale small (where
    # the LayerNorm eps shows: the two-way blocks' norms scale their outputs down to ~0.003, so the next norm's
    # input variance is near eps and 1e-5 instead of 1e-6 moves the masks by ~2e-4 of their range).
    for name, p in model.named_parameters():
        if name.startswith("mask_decoder.transformer.layers") and "layer_norm" in name:
            p.copy_(0.003 * (1 + 0.1 * torch.randn_like(p)) if name.endswith("weight") else 0.0003 * torch.randn_like(p))
        elif name.startswith("mask_decoder") and "layer_norm" not in name:
            p.copy_(0.02 * torch.randn_like(p))
        elif "layer_norm" in name and name.endswith("weight"):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        elif name.startswith("vision_encoder"):
            p.copy_(0.2 * torch.randn_like(p))
        elif "positional_embedding" in name:
            p.copy_(torch.randn_like(p))
        else:
            p.copy_(0.05 * torch.randn_like(p))

for folder, kwargs in (("hf_tiny", {}), ("hf_tiny_sharded", {"max_shard_size": "60KB"})):
    out = os.path.join(FIX, folder)
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out, **kwargs)
    print(folder, sorted(os.listdir(out)))

# The model as transformers loads it back (tied weights, config), so the outputs are those of the files.
loaded, info = SamModel.from_pretrained(os.path.join(FIX, "hf_tiny_sharded"), output_loading_info=True)
assert not info["missing_keys"] and not info["unexpected_keys"], info
loaded.eval()
g = torch.Generator().manual_seed(3)
pixels = torch.randn(1, 3, IMAGE, IMAGE, generator=g)
cases = {
    # name: (points [(x, y, label)], box or None, multimask)
    "points": ([(10.5, 20.25, 1), (40.0, 30.0, 0)], None, True),
    "point_box": ([(30.0, 12.0, 1)], (5.0, 6.0, 50.0, 44.0), False),
    "box": ([], (8.0, 16.0, 40.0, 60.0), True),
}
tensors = {"pixel_values": pixels}
with torch.no_grad():
    emb = loaded.get_image_embeddings(pixels)
    tensors["embedding"] = emb
    for name, (points, box, multi) in cases.items():
        kw = {"image_embeddings": emb, "multimask_output": multi}
        if points:
            kw["input_points"] = torch.tensor([[[[x, y] for x, y, _ in points]]], dtype=torch.float32)
            kw["input_labels"] = torch.tensor([[[l for _, _, l in points]]], dtype=torch.int64)
        if box:
            kw["input_boxes"] = torch.tensor([[list(box)]], dtype=torch.float32)
        o = loaded(**kw)
        tensors[f"{name}.masks"] = o.pred_masks[0]       # 1 x K x 4g x 4g
        tensors[f"{name}.iou"] = o.iou_scores[0]         # 1 x K
meta = {"transformers": transformers.__version__, "torch": torch.__version__,
        "cases": json.dumps({k: {"points": v[0], "box": v[1], "multimask": v[2]} for k, v in cases.items()})}
save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(FIX, "hf_tiny_outputs.safetensors"), metadata=meta)
print("wrote hf_tiny_outputs.safetensors:", {k: list(v.shape) for k, v in tensors.items()})
