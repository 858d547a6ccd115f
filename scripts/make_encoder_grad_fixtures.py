#!/usr/bin/env python3
"""Writes the gradient-parity fixture of the ViT encoder's extension points with the reference
`segment_anything` ImageEncoderViT: tokens injected at the input of every block, SAM's neck applied to
four taps, a scalar loss, and torch autograd's gradients with respect to the tokens.

The model is the small random SAM of make_sam_fixtures.py, loaded from its committed weights
(Tests/SAMTests/Fixtures/sam_small.safetensors), so the two fixtures share one set of weights.
Output: Tests/SAMTests/Fixtures/encoder_injection_grad.safetensors
Run:  python3 scripts/make_encoder_grad_fixtures.py   (pip install torch==2.13.0+cpu segment-anything safetensors)
"""
import os, sys
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_sam_fixtures import build, OUT  # noqa: E402  (also puts the torchvision stub on the path)


def main():
    sam = build()
    sam.load_state_dict(load_file(os.path.join(OUT, "sam_small.safetensors")))
    enc = sam.image_encoder.eval()
    g = torch.Generator().manual_seed(7)
    image = torch.randn(1, 3, enc.img_size, enc.img_size, generator=g)
    depth = len(enc.blocks)
    grid = enc.img_size // 16
    dim = enc.pos_embed.shape[-1]
    tokens = 0.3 * torch.randn(depth, 1, grid, grid, dim, generator=g)
    out_ch = enc.neck[0].weight.shape[0]
    weights = torch.randn(depth, 1, out_ch, grid, grid, generator=g)
    image.requires_grad_(True)
    tokens.requires_grad_(True)
    for p in enc.parameters():
        p.requires_grad_(False)  # the frozen encoder: gradients flow through it to the tokens and the image

    x = enc.patch_embed(image) + enc.pos_embed
    loss = 0
    for i, block in enumerate(enc.blocks):
        x = block(x + tokens[i])
        n = enc.neck(x.permute(0, 3, 1, 2))  # every block is a tap here (depth 4)
        loss = loss + (n * weights[i]).sum()
    loss.backward()
    save_file({"image": image.detach(), "tokens": tokens.detach(), "tap_weights": weights, "loss": loss.detach().reshape(1),
               "grad.tokens": tokens.grad},
              os.path.join(OUT, "encoder_injection_grad.safetensors"),
              metadata={"torch": torch.__version__, "taps": "0,1,2,3", "loss": "sum_t sum(neck(tap_t) * tap_weights[t])"})
    print("loss", loss.item(), "|grad tokens|max", tokens.grad.abs().max().item())


if __name__ == "__main__":
    main()
