"""The heads' configuration, mirroring the Swift `SSMSAMConfig` (JSON, snake_case keys).

Every value the spec (ssmsam-spec.md) leaves to "the config" lives here, resolved to a concrete number:
no field means "derive it later", so the JSON written next to a checkpoint is the whole story and the
Swift side never has to repeat a derivation rule. `for_encoder` fills the derived defaults (C from the
neck, h = D / 32, the FMAD FFN width 2C) from an encoder module.
"""
import dataclasses
import json
import math
from dataclasses import dataclass

BACKBONES = ("vit", "tinyvit")
FMAD_KEYS = ("query", "support")


class ConfigError(ValueError):
    """A configuration that cannot describe an SSM-SAM model (the message names the field)."""


@dataclass
class SSMSAMConfig:
    backbone: str = "tinyvit"         # "vit" (the paper) or "tinyvit" (MobileSAM)
    image_size: int = 1024            # S, the square input frame
    channels: int = 256               # C, the neck's output width (every level has C channels)
    adapters: bool = False            # ViT adapters (ViT only)
    adapter_hidden: int = 24          # h = max(1, D // 32) (24 for vit_b)
    fmad: bool = True                 # False: the "w/o FMAD" ablation (no FMAM blocks)
    fmad_blocks: int = 1              # FMAM blocks per level (1 or 2)
    fmad_ffn_dim: int = 512           # FMAM feed-forward width (spec: 2C)
    fmad_keys: str = "query"          # K = (M' * F) W_K on the query's features F (the paper's Eq. 7) or the support's
    mid: int = 128                    # width of the per-level and fuse convolutions
    tau: float = 1.0 / 30.0           # FMAM attention temperature (logits are divided by it)
    sigma: float = 1.0                # Gaussian blur of the support mask, in feature cells
    queries: int = 10                 # Q, learned global queries per sampler layer
    sampler_layers: int = 2
    sampler_heads: int = 8            # heads of the sampler's self- and cross-attention
    sampler_mlp_dim: int = 2048       # the sampler MLP's hidden width (8C: 2048 at C = 256, as the spec's small configs)
    sampler_cross_downsample: int = 2  # cross-attention internal width C / this
    positive_points: int = 8          # the point picker's defaults (points are an input of the forward)
    negative_points: int = 8

    @property
    def grid(self):
        """G, the feature grid (S / 16)."""
        return self.image_size // 16

    def validate(self):
        def need(ok, field, why):
            if not ok:
                raise ConfigError(f"SSMSAMConfig.{field} = {getattr(self, field)!r}: {why}")
        need(self.backbone in BACKBONES, "backbone", f"expected one of {BACKBONES}")
        need(self.image_size > 0 and self.image_size % 16 == 0, "image_size", "must be a positive multiple of 16")
        for f in ("channels", "adapter_hidden", "fmad_ffn_dim", "mid", "queries", "sampler_layers", "sampler_heads",
                  "sampler_mlp_dim", "sampler_cross_downsample"):
            need(isinstance(getattr(self, f), int) and getattr(self, f) > 0, f, "must be a positive integer")
        need(self.fmad_blocks in (1, 2), "fmad_blocks", "the method uses 1 or 2 FMAM blocks per level")
        need(self.fmad_keys in FMAD_KEYS, "fmad_keys", f"expected one of {FMAD_KEYS}")
        need(self.positive_points >= 0 and self.negative_points >= 0, "positive_points", "counts must be >= 0")
        need(not (self.adapters and self.backbone != "vit"), "adapters",
             "adapters are defined for the ViT backbone only (TinyViT has none in this design)")
        need(self.channels % self.sampler_heads == 0, "sampler_heads", f"must divide channels = {self.channels}")
        need(self.channels % self.sampler_cross_downsample == 0, "sampler_cross_downsample",
             f"must divide channels = {self.channels}")
        need((self.channels // self.sampler_cross_downsample) % self.sampler_heads == 0, "sampler_heads",
             f"must divide the cross-attention width {self.channels // self.sampler_cross_downsample}")
        need(math.isfinite(self.tau) and self.tau > 0, "tau", "must be a positive number")
        need(math.isfinite(self.sigma) and self.sigma > 0, "sigma", "must be a positive number")
        # torchvision's reflect padding needs the pad (3 sigma, rounded up) below the grid size.
        need(math.ceil(3 * self.sigma) < self.grid, "sigma",
             f"the blur kernel's half-width ceil(3 sigma) must be below the grid {self.grid} (reflect padding)")
        return self

    @classmethod
    def for_encoder(cls, encoder, **overrides):
        """The defaults for an encoder module (segment_anything ImageEncoderViT or MobileSAM TinyViT):
        backbone, S, C and h read from it, the FMAD FFN at 2C, the sampler MLP at 8C (2048 at C = 256; the
        spec's width for small configs); `overrides` replace any field."""
        from .model import encoder_kind, encoder_facts
        kind = encoder_kind(encoder)
        facts = encoder_facts(encoder)
        c = overrides.get("channels", facts["channels"])
        values = dict(backbone=kind, image_size=facts["image_size"], channels=c,
                      adapter_hidden=max(1, facts.get("embed_dim", 32) // 32), fmad_ffn_dim=2 * c,
                      sampler_mlp_dim=8 * c)
        values.update(overrides)
        return cls(**values).validate()

    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown SSMSAMConfig keys {unknown} (known: {sorted(known)})")
        # A config written before fmad_keys existed was trained with the support's features as keys.
        return cls(**{"fmad_keys": "support", **d}).validate()

    @classmethod
    def from_json(cls, text):
        return cls.from_dict(json.loads(text))
