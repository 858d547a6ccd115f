#!/usr/bin/env python3
"""Writes the small SAM fixture again under Hugging Face `transformers` SamModel names.

The weights of Tests/SAMTests/Fixtures/sam_small.safetensors are loaded into a real
transformers.SamModel of the same architecture (through the official-to-HF key mapping of
transformers' own conversion script, applied here), and the HF model's own state_dict is saved: the
names are the ones SamModel defines, checked by load_state_dict(strict=True).
Run: python3 scripts/make_hf_fixture.py   (pip install transformers torch safetensors)
"""
import json, os, re
import torch
from safetensors.torch import load_file, save_file
from transformers import SamConfig, SamModel, SamVisionConfig, SamPromptEncoderConfig, SamMaskDecoderConfig

FIX = os.path.join(os.path.dirname(__file__), "..", "Tests", "SAMTests", "Fixtures")
src = load_file(os.path.join(FIX, "sam_small.safetensors"))
# The architecture of scripts/make_sam_fixtures.py's CONFIG.
config = SamConfig(
    vision_config=SamVisionConfig(hidden_size=64, num_hidden_layers=4, num_attention_heads=2, mlp_dim=256,
                                  image_size=128, patch_size=16, window_size=3, global_attn_indexes=[1, 3],
                                  output_channels=32, num_pos_feats=16),
    prompt_encoder_config=SamPromptEncoderConfig(hidden_size=32, image_size=128, patch_size=16, mask_input_channels=16),
    mask_decoder_config=SamMaskDecoderConfig(hidden_size=32, mlp_dim=64, num_attention_heads=4, iou_head_hidden_dim=32),
)
# Official -> HF names: the rules of transformers' convert_sam_to_hf.py.
RULES = [("iou_prediction_head.layers.0", "iou_prediction_head.proj_in"), ("iou_prediction_head.layers.1", "iou_prediction_head.layers.0"),
         ("iou_prediction_head.layers.2", "iou_prediction_head.proj_out"), ("mask_decoder.output_upscaling.0", "mask_decoder.upscale_conv1"),
         ("mask_decoder.output_upscaling.1", "mask_decoder.upscale_layer_norm"), ("mask_decoder.output_upscaling.3", "mask_decoder.upscale_conv2"),
         ("mask_downscaling.0", "mask_embed.conv1"), ("mask_downscaling.1", "mask_embed.layer_norm1"), ("mask_downscaling.3", "mask_embed.conv2"),
         ("mask_downscaling.4", "mask_embed.layer_norm2"), ("mask_downscaling.6", "mask_embed.conv3"), ("point_embeddings", "point_embed"),
         ("pe_layer.positional_encoding_gaussian_matrix", "shared_embedding.positional_embedding"), ("image_encoder", "vision_encoder"),
         ("neck.0", "neck.conv1"), ("neck.1", "neck.layer_norm1"), ("neck.2", "neck.conv2"), ("neck.3", "neck.layer_norm2"),
         ("patch_embed.proj", "patch_embed.projection"), (".norm", ".layer_norm"), ("blocks", "layers")]
hf = {}
for key, value in src.items():
    for a, b in RULES:
        if a in key:
            key = key.replace(a, b)
    m = re.match(r".*.output_hypernetworks_mlps.(\d+).layers.(\d+).*", key)
    if m:
        key = key.replace(f"layers.{m.group(2)}", {"0": "proj_in", "1": "layers.0", "2": "proj_out"}[m.group(2)])
    hf[key] = value
hf["shared_image_embedding.positional_embedding"] = hf["prompt_encoder.shared_embedding.positional_embedding"]
model = SamModel(config).eval()
missing, unexpected = model.load_state_dict(hf, strict=False)
assert not unexpected, unexpected
assert all("positional_embedding" in k for k in missing) or not missing, missing
sd = {k: v.clone().contiguous() for k, v in model.state_dict().items()}  # tied tensors saved apart
save_file(sd, os.path.join(FIX, "sam_small_hf.safetensors"), metadata={"transformers": __import__("transformers").__version__})
print(f"wrote {len(sd)} tensors with SamModel names")
