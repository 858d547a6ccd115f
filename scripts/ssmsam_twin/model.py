"""SSMSAM: the SSM-SAM heads on a frozen SAM image encoder, exactly as /work/shared-spec/ssmsam-spec.md.

Module attributes are the spec's parameter tree, so `state_dict()` keys are the spec's names:
  image_encoder.*  the real segment_anything ImageEncoderViT or MobileSAM TinyViT (frozen, official names)
  adapter.*        ViT adapters (optional)         levels.*  TinyViT level projections
  sampler.*        the self-sampler                fmad.*    the flexible mask attention decoder
The encoder is never monkey-patched: its forward is re-implemented here step by step from its own
submodules (patch_embed, pos_embed, blocks, neck / layers), which is what lets the adapters inject
prompts before every block and the taps read intermediate blocks.
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import SSMSAMConfig, ConfigError
from .highpass import highpass

STUBS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "stubs")


def _segment_anything():
    """segment_anything.modeling; its package __init__ imports torchvision for a resize the model never
    calls, and PyPI's torchvision does not load on the CPU torch wheel, so fall back to scripts/stubs."""
    try:
        import segment_anything.modeling as m
    except ImportError as e:
        if "torchvision" not in str(e):
            raise
        for name in [n for n in sys.modules if n == "segment_anything" or n.startswith("segment_anything.")]:
            del sys.modules[name]
        sys.path.insert(0, STUBS)
        import segment_anything.modeling as m
    return m


_sam = _segment_anything()
Attention = _sam.transformer.Attention  # SAM's decoder attention: q/k/v/out_proj with biases, downsample rate
MLPBlock = _sam.common.MLPBlock         # lin1, act, lin2
LayerNorm2d = _sam.common.LayerNorm2d   # channel LayerNorm at each pixel, eps 1e-6


# ---------------------------------------------------------------------------------------------------------
# The encoder, by duck typing (the twin must not import MobileSAM's code to run a ViT, nor the reverse).

def encoder_kind(encoder):
    if hasattr(encoder, "blocks") and hasattr(encoder, "pos_embed") and hasattr(encoder, "neck"):
        return "vit"
    if hasattr(encoder, "layers") and hasattr(getattr(encoder, "patch_embed", None), "seq") and hasattr(encoder, "neck"):
        return "tinyvit"
    raise ConfigError(f"{type(encoder).__name__} is neither segment_anything's ImageEncoderViT nor MobileSAM's TinyViT")


def encoder_facts(encoder):
    """image_size, channels (the neck's width) and, for ViT, embed_dim, depth, patch."""
    kind = encoder_kind(encoder)
    facts = dict(image_size=int(encoder.img_size), channels=int(encoder.neck[0].out_channels))
    if kind == "vit":
        facts.update(embed_dim=int(encoder.patch_embed.proj.out_channels), depth=len(encoder.blocks),
                     patch=int(encoder.patch_embed.proj.kernel_size[0]))
    else:
        facts.update(stage_dims=[int(layer.dim) for layer in encoder.layers])
    return facts


def vit_taps(depth):
    """0-based blocks after which the four levels are tapped: depth/4-1, depth/2-1, 3 depth/4-1, depth-1."""
    if depth % 4:
        raise ConfigError(f"ViT depth {depth}: the taps at depth/4, depth/2, 3 depth/4 need a multiple of 4")
    return [depth // 4 - 1, depth // 2 - 1, 3 * depth // 4 - 1, depth - 1]


# ---------------------------------------------------------------------------------------------------------
# Heads

class Adapter(nn.Module):
    """EVP-style adapters: P_i = up(GELU(tune_i(embedding(T0) + handcrafted(highpass(I)))))."""

    def __init__(self, dim, hidden, depth, patch):
        super().__init__()
        self.embedding = nn.Linear(dim, hidden)
        self.handcrafted = nn.Conv2d(3, hidden, kernel_size=patch, stride=patch)
        self.tune = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(depth))
        self.up = nn.Linear(hidden, dim)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)  # bounds -2, 2 absolute (torch's default)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
                nn.init.zeros_(m.bias)

    def base(self, tokens, hp):
        """tokens: patch tokens before pos_embed (B, G, G, D); hp: the high-pass image (B, 3, S, S)."""
        return self.embedding(tokens) + self.handcrafted(hp).permute(0, 2, 3, 1)

    def prompt(self, i, base):
        return self.up(F.gelu(self.tune[i](base)))  # exact (erf) GELU: F.gelu's default


class LevelProjection(nn.Module):
    """TinyViT level j: LayerNorm2d(proj(stage output area-averaged to G x G))."""

    def __init__(self, in_channels, channels):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, channels, kernel_size=1)
        self.norm = LayerNorm2d(channels)

    def forward(self, x):
        return self.norm(self.proj(x))


class SamplerLayer(nn.Module):
    def __init__(self, c, queries, heads, mlp_dim, cross_downsample):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(queries, c))  # normal(0, 1)
        self.self_attn = Attention(c, heads, downsample_rate=1)
        self.norm1 = nn.LayerNorm(c, eps=1e-5)
        self.mlp = MLPBlock(c, mlp_dim, act=nn.ReLU)
        self.norm2 = nn.LayerNorm(c, eps=1e-5)
        self.cross_attn = Attention(c, heads, downsample_rate=cross_downsample)
        self.norm3 = nn.LayerNorm(c, eps=1e-5)

    def forward(self, x, prompts):
        """x: image tokens (B, G*G, C); prompts (B, P, C). Returns the updated (x, prompts)."""
        q = self.queries.shape[0]
        t = torch.cat([self.queries.expand(x.shape[0], -1, -1), prompts], dim=1)
        t = self.norm1(t + self.self_attn(t, t, t))
        g, prompts = t[:, :q], t[:, q:]
        g = self.norm2(g + self.mlp(g))  # the MLP acts on the global queries only
        t = torch.cat([g, prompts], dim=1)
        x = self.norm3(x + self.cross_attn(x, t, t))
        return x, prompts


class SelfSampler(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg.channels
        # nn.Embedding: the spec's "sampler.point_embed weight (2, C)" -> key sampler.point_embed.weight;
        # its default init is normal(0, 1), the spec's.
        self.point_embed = nn.Embedding(2, c)
        self.layers = nn.ModuleList(SamplerLayer(c, cfg.queries, cfg.sampler_heads, cfg.sampler_mlp_dim,
                                                 cfg.sampler_cross_downsample) for _ in range(cfg.sampler_layers))

    @staticmethod
    def visual_prompts(x0, points, image_size):
        """Bilinear samples of x0 (B, C, G, G) at frame points (B, P, 2) (x = column first), (B, P, C).
        align_corners=False maps the frame [0, S] onto the grid's outer edges, so feature cell c's centre
        sits at frame (c + 0.5) S / G, the same pixel-centre convention as the points."""
        grid = (2.0 * points / image_size - 1.0).unsqueeze(1)  # (B, 1, P, 2)
        v = F.grid_sample(x0, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return v[:, :, 0].transpose(1, 2)

    def forward(self, x0, points, labels, image_size):
        """Returns (the new level 0 (B, C, G, G), the visual prompts before the label embedding)."""
        b, c, g, _ = x0.shape
        vp = self.visual_prompts(x0, points, image_size)
        prompts = vp + self.point_embed(labels)
        x = x0.flatten(2).transpose(1, 2)  # (B, G*G, C), position r*G + c
        for layer in self.layers:
            x, prompts = layer(x, prompts)
        return x.transpose(1, 2).reshape(b, c, g, g), vp


def instance_norm_tokens(x):
    """IN over the positions of (B, N, C), per channel, no affine, eps 1e-5, biased variance."""
    return F.instance_norm(x.transpose(1, 2), eps=1e-5).transpose(1, 2)


class FMAMBlock(nn.Module):
    def __init__(self, c, ffn_dim, keys="query"):
        super().__init__()
        self.keys = keys
        self.query = nn.Linear(c, c, bias=False)
        self.key = nn.Linear(c, c, bias=False)
        self.value = nn.Linear(c, c, bias=False)
        self.ffn = MLPBlock(c, ffn_dim, act=nn.ReLU)

    def forward(self, f, fs, m, tau):
        """f: query features, fs: support features, m: M'; all (B, G*G, C). The keys mask the query's own
        features (cfg.fmad_keys "query", the paper's Eq. 7) or the support's ("support")."""
        q = self.query(f)
        k = self.key(m * (f if self.keys == "query" else fs))
        v = self.value(m)
        a = torch.softmax(F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(1, 2) / tau, dim=-1)
        f1 = instance_norm_tokens((a @ v) * f)  # "multiply & norm"
        return instance_norm_tokens(f1 + self.ffn(f1))


class FMADLevel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg.channels
        # FMAD off: an empty list, so the state dict has no fmad.levels.L.blocks.* (the spec's ablation).
        self.blocks = nn.ModuleList(FMAMBlock(c, cfg.fmad_ffn_dim, cfg.fmad_keys) for _ in range(cfg.fmad_blocks if cfg.fmad else 0))
        self.conv1 = nn.Conv2d(c, cfg.mid, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(cfg.mid, cfg.mid, 3, padding=1, bias=False)

    def project(self, f):
        """Y_L = ReLU(IN(conv2(ReLU(IN(conv1(F)))))) on (B, C, G, G)."""
        y = F.relu(F.instance_norm(self.conv1(f), eps=1e-5))
        return F.relu(F.instance_norm(self.conv2(y), eps=1e-5))


class Fuse(nn.Module):
    def __init__(self, levels, mid):
        super().__init__()
        self.conv1 = nn.Conv2d(levels * mid, mid, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(mid, 1, 3, padding=1, bias=True)

    def forward(self, ys):
        return self.conv2(F.relu(F.instance_norm(self.conv1(torch.cat(ys, dim=1)), eps=1e-5)))


class FMAD(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.levels = nn.ModuleList(FMADLevel(cfg) for _ in range(4))
        self.fuse = Fuse(4, cfg.mid)


def gaussian_kernel(sigma, dtype=torch.float32):
    """torchvision gaussian_blur's kernel for size 2 ceil(3 sigma) + 1: normalised exp(-x^2 / 2 sigma^2) at
    x = linspace(-(k-1)/2, (k-1)/2, k), 2-D as the outer product (torch.mm, as torchvision does)."""
    k = 2 * math.ceil(3 * sigma) + 1
    x = torch.linspace(-(k - 1) * 0.5, (k - 1) * 0.5, steps=k, dtype=dtype)
    pdf = torch.exp(-0.5 * (x / sigma).pow(2))
    k1 = pdf / pdf.sum()
    return torch.mm(k1[:, None], k1[None, :])


def mask_prior(support_mask, grid, sigma, channels, dtype=torch.float32):
    """M' (B, G*G, C): the support mask area-averaged to G x G, Gaussian-blurred (reflect padding), cells
    with average >= 0.5 reset to the blurred map's maximum (per image), repeated over the C channels."""
    m = F.adaptive_avg_pool2d(support_mask.to(dtype), grid)
    kernel = gaussian_kernel(sigma, m.dtype)
    pad = kernel.shape[-1] // 2
    b = F.conv2d(F.pad(m, [pad, pad, pad, pad], mode="reflect"), kernel[None, None])
    b = torch.where(m >= 0.5, b.amax(dim=(-2, -1), keepdim=True), b)
    return b.flatten(2).transpose(1, 2).expand(-1, -1, channels).contiguous()


# ---------------------------------------------------------------------------------------------------------

class FrozenFeatures:
    """What the frozen encoder gives for an image batch on the cheap path (`SSMSAM.frozen`): TinyViT's first
    three stage outputs area-averaged to G x G and the neck on the last stage (the level projections, which
    are trainable, are applied later), or ViT's four neck'd taps. `shape` is the image's, so it stands in
    for the image in `SSMSAM.forward`."""

    def __init__(self, tensors, shape):
        self.tensors = [t.detach() for t in tensors]
        self.shape = tuple(shape)

    def to(self, device):
        return FrozenFeatures([t.to(device) for t in self.tensors], self.shape)


class SSMSAM(nn.Module):
    def __init__(self, image_encoder, config: SSMSAMConfig):
        super().__init__()
        config.validate()
        kind = encoder_kind(image_encoder)
        facts = encoder_facts(image_encoder)
        if kind != config.backbone:
            raise ConfigError(f"config.backbone = {config.backbone!r} but the encoder is a {kind}")
        for key in ("image_size", "channels"):
            if facts[key] != getattr(config, key):
                raise ConfigError(f"config.{key} = {getattr(config, key)} but the encoder has {facts[key]}")
        self.config = config
        self.image_encoder = image_encoder
        self.image_encoder.requires_grad_(False)  # frozen; activations still carry gradients to the adapters
        c, g = config.channels, config.grid
        if kind == "vit":
            if facts["patch"] != 16:
                raise ConfigError(f"ViT patch size {facts['patch']}: the spec's grid is S / 16")
            self.taps = vit_taps(facts["depth"])
            if config.adapters:
                if config.adapter_hidden != max(1, facts["embed_dim"] // 32):
                    raise ConfigError(f"config.adapter_hidden = {config.adapter_hidden}, the spec's h = max(1, D / 32) "
                                      f"= {max(1, facts['embed_dim'] // 32)} for D = {facts['embed_dim']}")
                self.adapter = Adapter(facts["embed_dim"], config.adapter_hidden, facts["depth"], facts["patch"])
            else:
                self.adapter = None
            self.levels = None
        else:
            self.adapter = None
            self.taps = None
            for j, layer in enumerate(image_encoder.layers):
                h, w = layer.input_resolution
                if j == 3 and (h, w) != (g, g):
                    raise ConfigError(f"TinyViT's last stage runs at {h}x{w}, not the grid {g}x{g} "
                                      f"(its last patch merging must keep the resolution)")
                if j < 3 and (h % g or w % g):
                    raise ConfigError(f"TinyViT stage {j} at {h}x{w}: not an exact multiple of the grid {g}")
            self.levels = nn.ModuleList(LevelProjection(d, c) for d in facts["stage_dims"][:3])
        self.sampler = SelfSampler(config)
        self.fmad = FMAD(config)
        self.train(self.training)

    # The encoder stays in inference mode whatever mode the heads are in: TinyViT's BatchNorm must use its
    # running statistics, and SAM has no dropout. TinyViT's attention reads its bias table through a
    # snapshot (`ab`) taken by .eval(), which goes stale when weights are loaded afterwards; with its
    # `training` flag set (the only thing that flag selects there) it reads `attention_biases` directly.
    def train(self, mode=True):
        super().train(mode)
        self.image_encoder.eval()
        for m in self.image_encoder.modules():
            if hasattr(m, "attention_biases") and hasattr(m, "attention_bias_idxs"):
                m.training = True
        return self

    def head_names(self):
        """The spec names of every head tensor (everything but image_encoder.*), in state-dict order."""
        return [k for k in self.state_dict() if not k.startswith("image_encoder.")]

    def trainable_parameters(self):
        return [(n, p) for n, p in self.named_parameters() if p.requires_grad]

    # --- feature levels ---------------------------------------------------------------------------------

    def frozen(self, image):
        """The cheap path's cache of one image batch (no adapters): the frozen encoder's outputs, computed
        once, as `FrozenFeatures`. Passing it wherever an image goes (forward, `loss_at`, the meta-learner)
        gives bit for bit the levels of the image itself, without running the encoder again."""
        self._check_image(image, "image")
        if self.adapter is not None:
            raise ValueError("frozen features need a model without adapters (the adapters make every level trainable)")
        g = self.config.grid
        with torch.no_grad():
            if self.config.backbone == "vit":
                return FrozenFeatures(self._vit_levels(image, None), image.shape)
            stages = self._tinyvit_stages(image)
            pooled = [F.adaptive_avg_pool2d(s, g) for s in stages[:3]]
            return FrozenFeatures(pooled + [self.image_encoder.neck(stages[3])], image.shape)

    def features(self, image):
        """The four levels (shallow to deep) of one image batch, each (B, C, G, G), and the high-pass image
        (None when unused). `image` may be the image's `FrozenFeatures` (the cheap path)."""
        if isinstance(image, FrozenFeatures):
            if self.config.backbone == "vit":
                return list(image.tensors), None
            return [proj(t) for proj, t in zip(self.levels, image.tensors[:3])] + [image.tensors[3]], None
        self._check_image(image, "image")
        if self.config.backbone == "vit":
            hp = highpass(image) if self.adapter is not None else None
            if self.adapter is None:
                with torch.no_grad():  # nothing upstream of the levels is trainable: no graph needed
                    return self._vit_levels(image, None), None
            return self._vit_levels(image, hp), hp
        with torch.no_grad():
            stages = self._tinyvit_stages(image)
        g = self.config.grid
        levels = [proj(F.adaptive_avg_pool2d(s, g)) for proj, s in zip(self.levels, stages[:3])]
        with torch.no_grad():
            levels.append(self.image_encoder.neck(stages[3]))
        return levels, None

    def _vit_levels(self, image, hp):
        enc = self.image_encoder
        tokens = enc.patch_embed(image)  # (B, G, G, D), before pos_embed
        x = tokens + enc.pos_embed if enc.pos_embed is not None else tokens
        base = self.adapter.base(tokens, hp) if self.adapter is not None else None
        levels = []
        for i, block in enumerate(enc.blocks):
            if base is not None:
                x = x + self.adapter.prompt(i, base)
            x = block(x)
            if i in self.taps:
                levels.append(enc.neck(x.permute(0, 3, 1, 2)))
        return levels

    def _tinyvit_stages(self, image):
        """The last block's output of each stage (before its patch merging), each (B, C_j, H_j, W_j)."""
        enc = self.image_encoder
        x = enc.patch_embed(image)
        stages = []
        for layer in enc.layers:
            for block in layer.blocks:
                x = block(x)
            if x.dim() == 3:  # attention stages work on (B, H*W, C)
                h, w = layer.input_resolution
                stages.append(x.view(x.shape[0], h, w, -1).permute(0, 3, 1, 2))
            else:
                stages.append(x)
            if layer.downsample is not None:
                x = layer.downsample(x)
        return stages

    # --- heads ------------------------------------------------------------------------------------------

    def heads(self, query_levels, support_levels, support_mask, points, point_labels):
        """Everything after the encoder, on precomputed levels (the cached-feature path). Returns a dict of
        every stage: sampler, sampler_visual_prompts, mask (M'), fmam[L][b], y[L], logits64, logits256."""
        cfg = self.config
        b, c, g = query_levels[0].shape[0], cfg.channels, cfg.grid
        self._check_prompts(points, point_labels, b)
        self._check_mask(support_mask, "support_mask", b)
        x0, vp = self.sampler(query_levels[0], points, point_labels.long(), cfg.image_size)
        fq = [x0] + list(query_levels[1:])
        m = mask_prior(support_mask, g, cfg.sigma, c, query_levels[0].dtype)
        fmam, ys = [], []
        for level, f, fs in zip(self.fmad.levels, fq, support_levels):
            outs = []
            if len(level.blocks):
                t, ts = f.flatten(2).transpose(1, 2), fs.flatten(2).transpose(1, 2)
                for block in level.blocks:
                    t = block(t, ts, m, cfg.tau)
                    outs.append(t)
                f = t.transpose(1, 2).reshape(b, c, g, g)
            fmam.append(outs)
            ys.append(level.project(f))
        logits64 = self.fmad.fuse(ys)
        logits256 = F.interpolate(logits64, size=(4 * g, 4 * g), mode="bilinear", align_corners=False)
        return dict(sampler=x0, sampler_visual_prompts=vp, mask=m, fmam=fmam, y=ys, logits64=logits64,
                    logits256=logits256)

    def forward(self, query, support, support_mask, points, point_labels, return_stages=False):
        """query, support: SAM-preprocessed (B, 3, S, S); support_mask (B, 1, S, S) in {0, 1}; points (B, P, 2)
        frame coordinates (x, y), pixel (c, r) centred at (c + 0.5, r + 0.5); point_labels (B, P) in {0, 1}.
        Returns logits256 (B, 1, 4G, 4G), or with return_stages the dict of every stage."""
        self._check_image(support, "support")
        if support.shape[0] != query.shape[0]:
            raise ValueError(f"support batch {support.shape[0]} != query batch {query.shape[0]}")
        lq, hq = self.features(query)
        ls, hs = self.features(support)
        out = self.heads(lq, ls, support_mask, points, point_labels)
        if not return_stages:
            return out["logits256"]
        out.update(highpass_query=hq, highpass_support=hs, levels_query=lq, levels_support=ls)
        return out

    # --- input checks -----------------------------------------------------------------------------------

    def _check_image(self, x, name):
        s = self.config.image_size
        if isinstance(x, FrozenFeatures):
            if len(x.shape) != 4 or tuple(x.shape[1:]) != (3, s, s):
                raise ValueError(f"{name}: frozen features of a {x.shape} image, expected (B, 3, {s}, {s})")
            return
        if x.dim() != 4 or tuple(x.shape[1:]) != (3, s, s):
            raise ValueError(f"{name}: expected (B, 3, {s}, {s}) SAM-preprocessed, got {tuple(x.shape)}")

    def _check_mask(self, m, name, b):
        s = self.config.image_size
        if m.dim() != 4 or tuple(m.shape) != (b, 1, s, s):
            raise ValueError(f"{name}: expected ({b}, 1, {s}, {s}), got {tuple(m.shape)}")
        if not bool(((m == 0) | (m == 1)).all()):
            raise ValueError(f"{name}: must be binary (0 / 1)")

    def _check_prompts(self, points, labels, b):
        if points.dim() != 3 or points.shape[0] != b or points.shape[2] != 2:
            raise ValueError(f"points: expected ({b}, P, 2) (x, y) frame coordinates, got {tuple(points.shape)}")
        if tuple(labels.shape) != tuple(points.shape[:2]):
            raise ValueError(f"point_labels: expected {tuple(points.shape[:2])}, got {tuple(labels.shape)}")
        if not bool(((labels == 0) | (labels == 1)).all()):
            raise ValueError("point_labels: must be 1 (positive) or 0 (negative)")
