"""Reading and writing the heads as a PyTorch .pth in the spec's names, strictly.

A heads file is a flat {spec name: float32 tensor} state dict (torch.save's zip format), exactly what the
Swift toolkit writes: every head tensor (adapter.*, levels.*, sampler.*, fmad.*) and nothing else. A full
file also holds image_encoder.* (SAM's official names). Loading is strict both ways: a missing name, an
unexpected name, a wrong shape or a non-float32 tensor is an error that names it, never a silent skip.
One exception, by name: the encoder tensors that no forward reads (TinyViT's ImageNet classifier
`head.*` / `norm_head.*` and BatchNorm's `num_batches_tracked` counters) may be absent, since the toolkit
does not keep them (see `unread_encoder_names`); they keep the module's own values.
The config travels next to the file as JSON (write_config / read_config).
"""
import json
from collections import OrderedDict

import torch

from .config import SSMSAMConfig


class CheckpointError(ValueError):
    pass


def head_state(model, include_encoder=False):
    state = model.state_dict()
    names = list(state) if include_encoder else model.head_names()
    return OrderedDict((k, state[k].detach().cpu().contiguous().clone()) for k in names)


def save_pth(model, path, include_encoder=False):
    """Writes the heads (with include_encoder also image_encoder.*) of `model` (an SSMSAM, or a
    DistributedDataParallel / compiled wrapper around one) to `path`."""
    model = getattr(model, "module", model)  # DDP keeps the model in .module: never write its prefix
    torch.save(head_state(model, include_encoder), path)


def _read_state(path):
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 (torch raises many types; the message names the file)
        raise CheckpointError(f"{path}: not a readable PyTorch state dict ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise CheckpointError(f"{path}: expected a flat {{name: tensor}} state dict")
    return state


def unread_encoder_names(model):
    """The encoder's state-dict names that the SSM-SAM forward never reads: TinyViT's classification head
    (`head.*`, `norm_head.*`: MobileSAM keeps ImageNet's classifier in its checkpoint) and BatchNorm's
    `num_batches_tracked` (used only in training mode with momentum=None; the encoder is always in eval)."""
    return {k for k in model.state_dict() if k.startswith("image_encoder.") and
            (k.startswith(("image_encoder.head.", "image_encoder.norm_head.")) or k.endswith(".num_batches_tracked"))}


def check_state(model, state, source="state dict"):
    """Raises CheckpointError unless `state` holds exactly the model's head names (or its full state-dict
    names, less any of `unread_encoder_names`) with the model's shapes, as float32 (int64 for TinyViT's
    num_batches_tracked)."""
    own = model.state_dict()
    heads = set(model.head_names())
    names = set(state)
    expected = set(own) if any(k.startswith("image_encoder.") for k in names) else heads
    missing = sorted(expected - names - unread_encoder_names(model))
    unexpected = sorted(names - expected)
    if missing or unexpected:
        hint = ""
        if unexpected and all(k.startswith("module.") for k in unexpected):
            hint = " (the names carry DDP's 'module.' prefix: save model.module, or use save_pth)"
        raise CheckpointError(f"{source}: names do not match the model{hint}; "
                              f"missing {missing[:8]}{'...' if len(missing) > 8 else ''} ({len(missing)}), "
                              f"unexpected {unexpected[:8]}{'...' if len(unexpected) > 8 else ''} ({len(unexpected)})")
    for k in sorted(names):
        if tuple(state[k].shape) != tuple(own[k].shape):
            raise CheckpointError(f"{source}: {k} has shape {tuple(state[k].shape)}, the model {tuple(own[k].shape)}")
        if state[k].dtype != own[k].dtype:
            raise CheckpointError(f"{source}: {k} is {state[k].dtype}, the model {own[k].dtype}")


def load_state(model, state, source="state dict"):
    check_state(model, state, source)
    model.load_state_dict(state, strict=set(state) == set(model.state_dict()))
    model.train(model.training)  # re-assert the frozen encoder's inference mode after the load
    return model


def load_pth(model, path):
    """Loads a heads (or full) .pth into `model` strictly; returns the model."""
    return load_state(model, _read_state(path), str(path))


def write_config(config, path):
    with open(path, "w") as f:
        f.write(json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")


def read_config(path):
    with open(path) as f:
        return SSMSAMConfig.from_dict(json.load(f))
