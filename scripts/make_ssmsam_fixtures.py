#!/usr/bin/env python3
"""Writes the SSM-SAM heads' parity fixtures with the PyTorch twin (scripts/ssmsam_twin) on the small
committed SAM bases, for the Swift tests (Tests/SSMSAMTests/Fixtures/):

  ssmsam_vit_adapters.safetensors   ViT base (sam_small.safetensors), adapters on, FMAD on
  ssmsam_vit.safetensors            ViT base, adapters off, FMAD on
  ssmsam_tinyvit.safetensors        TinyViT base (mobilesam_small.safetensors), FMAD on
  ssmsam_tinyvit_query_keys.safetensors   the same with FMAM's keys on the query's features (fmad_keys
                                    "query", the paper's Eq. 7 and the default of new models); the three
                                    above keep the toolkit's first FMAD (fmad_keys "support")
Each file also holds one FMAD-off forward (the same weights without fmad.levels.L.blocks.*).

Contents of a file (names; shapes for G = 8, C = 32, S = 128, P = 8):
  <spec name>                  every head tensor (float32); the base is the committed SAM file named in
                               the metadata ("base"), not repeated here
  input.query_image, input.support_image   (1, 3, S, S) float16: the twin's inputs are these upcast to
                               float32 (exact; drawn in float16 so the stored form loses nothing)
  input.support_mask, input.query_label    (1, 1, S, S) uint8 in {0, 1}
  input.points (1, P, 2) float32 (x, y) frame coordinates; input.point_labels (1, P) int64, 1 positive
  out.highpass.query           (1, 3, S, S) the query's high-pass image (adapters file only)
  out.levels.{query,support}.L (1, C, G, G) the four levels before the sampler
  out.sampler.visual_prompts   (1, P, C) V_p (before the label embedding); out.sampler (1, C, G, G)
  out.mask                     M' (1, G*G, C);  out.fmam.L.b (1, G*G, C) block b's output at level L
  out.y.L (1, mid, G, G); out.logits64 (1, 1, G, G); out.logits256 (1, 1, 4G, 4G); out.label256 (y256)
  loss, loss.bce, loss.iou     (1,)
  grad.<name>                  d loss / d every trainable tensor
  alpha.<name>                 (1,) the inner step's rate for <name>: 1e-3 * (1 + index / 10), index its
                               position in metadata "trainable"
  step.<name>                  theta' = theta - alpha * grad;  step.loss (1,) the loss at theta'
  fmad_off.out.y.L, fmad_off.out.logits64, fmad_off.out.logits256, fmad_off.loss
Metadata: config (SSMSAMConfig JSON), fmad_off_config, trainable (JSON list, parameter order), base,
base_sha256, torch, variant, points_rule, alpha_rule, zero_gradient (JSON list: the tensors whose gradient
is mathematically zero, every attention k_proj.bias and FMAM ffn.lin2.bias; their grad.* is float32
rounding noise, to compare with an absolute tolerance).

Run:  python3 scripts/make_ssmsam_fixtures.py
(pip install torch==2.13.0+cpu segment-anything safetensors numpy; MobileSAM's code is fetched to
$MOBILESAM_DIR or /tmp/mobilesam by scripts/mobilesam_reference.py)
Before writing, the script checks the twin (raises on any failure): the step-by-step encoder forward
against the library's own forward, points inside / outside the support mask as labelled, nonzero
gradients for every trainable tensor, adapters that change the levels, FMAD-off != FMAD-on, the
first-order change of the loss over the inner step, determinism, and a strict .pth round trip.
"""
import contextlib
import copy
import hashlib
import json
import os
import sys
import struct
import tempfile

import torch
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ssmsam_twin import (SSMSAM, SSMSAMConfig, ssmsam_loss, label_at, sample_points, save_pth, load_pth,  # noqa: E402
                         CheckpointError, ConfigError, inner_step, loss_at, gaussian_kernel)

SAM_FIXTURES = os.path.join(HERE, "..", "Tests", "SAMTests", "Fixtures")
OUT = os.path.join(HERE, "..", "Tests", "SSMSAMTests", "Fixtures")
# The heads of the small fixtures: C and S come from the base (neck 32, image 128). Four heads exercise the
# head split (8 per head in self-attention, 4 in the C/2 cross-attention); the sampler MLP is the spec's
# small-config 8C; mid = 8 keeps the convolution weights (the bulk of FMAD's) small.
HEADS = dict(mid=8, sampler_heads=4, positive_points=4, negative_points=4)


class CheckFailed(AssertionError):
    pass


def check(ok, what):
    if not ok:
        raise CheckFailed(what)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# --- bases ------------------------------------------------------------------------------------------------

def vit_base():
    from make_sam_fixtures import build
    sam = build()
    sam.load_state_dict(load_file(os.path.join(SAM_FIXTURES, "sam_small.safetensors")))
    return sam.image_encoder, "Tests/SAMTests/Fixtures/sam_small.safetensors"


def tinyvit_base():
    import mobilesam_reference as ref
    from make_mobilesam_fixtures import build_small
    sam = build_small(ref.import_modeling())
    sam.load_state_dict(load_file(os.path.join(SAM_FIXTURES, "mobilesam_small.safetensors")))
    sam.eval()  # after loading: TinyViT's attention snapshots its bias table at eval()
    return sam.image_encoder, "Tests/SAMTests/Fixtures/mobilesam_small.safetensors"


# --- inputs -----------------------------------------------------------------------------------------------

def ellipse(s, cx, cy, rx, ry):
    yy, xx = torch.meshgrid(torch.arange(s) + 0.5, torch.arange(s) + 0.5, indexing="ij")
    return ((((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2) < 1).to(torch.uint8)[None, None]


def slice_image(s, organ, g):
    """A CT-slice-like SAM input: a smooth random background, a brighter textured organ, noise; drawn in
    float16 so the stored inputs are exact."""
    smooth = torch.nn.functional.interpolate(torch.randn(1, 3, 8, 8, generator=g), size=(s, s), mode="bilinear",
                                             align_corners=False)
    x = 0.6 * smooth + 1.2 * organ.float() + 0.25 * torch.randn(1, 3, s, s, generator=g)
    return x.clamp(-2.5, 2.5).half()


def make_inputs(s, cfg):
    g = torch.Generator().manual_seed(11)
    # The support slice's organ and the query slice's (an adjacent slice): overlapping, not equal.
    support_mask = ellipse(s, 0.47 * s, 0.50 * s, 0.23 * s, 0.17 * s)
    query_label = ellipse(s, 0.53 * s, 0.47 * s, 0.21 * s, 0.19 * s)
    inputs = {"input.query_image": slice_image(s, query_label, g), "input.support_image": slice_image(s, support_mask, g),
              "input.support_mask": support_mask, "input.query_label": query_label}
    # The points from the SUPPORT mask (never the query label), negatives from a one-cell band around it.
    pts, labels = sample_points(support_mask[0, 0], cfg.positive_points, cfg.negative_points, band=s // 16,
                                generator=torch.Generator().manual_seed(12))
    inputs["input.points"] = pts[None]
    inputs["input.point_labels"] = labels[None]
    return inputs


POINTS_RULE = ("scripts/ssmsam_twin/points.py sample_points(support_mask, 4, 4, band=S/16, torch.Generator seed 12): "
               "positives uniform without replacement inside the mask, negatives in the band of S/16 pixels "
               "around it, pixel centres (c + 0.5, r + 0.5)")


def model_inputs(inputs):
    return (inputs["input.query_image"].float(), inputs["input.support_image"].float(),
            inputs["input.support_mask"].float(), inputs["input.points"], inputs["input.point_labels"])


# --- heads ------------------------------------------------------------------------------------------------

def perturb(model, g):
    """Make every head tensor informative: the spec's inits leave LayerNorm at (1, 0), adapter biases at 0
    and the adapters at std 0.02, which would make the adapters' effect on the levels tiny and let a wrong
    affine or bias in the Swift model pass. Weights of the adapters get std 1/sqrt(fan_in) (prompts of the
    order of the tokens); norms 1 + 0.1 n; zero biases 0.1 n. Everything else keeps its spec init, except
    the FMAM value weights' row sums (below)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("image_encoder."):
                continue
            if ("norm" in name) and name.endswith(".weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.startswith("adapter.") and name.endswith(".weight"):
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
            elif name.endswith(".bias") and not p.any():
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.startswith("fmad.") and name.endswith(".value.weight"):
                # M' is one value per position repeated over channels, so V = value(M') is rank one:
                # channel c of V is M' times u_c, the row sum of the weight, and the IN after (A V) * F
                # removes |u_c|. A row sum near 0 puts that IN in its eps regime, where float32 results
                # (and their gradients) are ill-conditioned; keep |u_c| >= 0.25 so parity is well posed.
                u = p.sum(1)
                target = torch.where(u >= 0, 1.0, -1.0) * u.abs().clamp(min=0.25)
                p.add_(((target - u) / p.shape[1])[:, None])


def build_twin(encoder, **overrides):
    torch.manual_seed(0)  # the heads' spec inits, then the perturbation: both deterministic
    model = SSMSAM(encoder, SSMSAMConfig.for_encoder(encoder, **HEADS, **overrides))
    perturb(model, torch.Generator().manual_seed(1))
    return model


def fmad_off_twin(model):
    """The same heads without the FMAM blocks (the ablation), loaded strictly from the FMAD-on weights."""
    cfg = SSMSAMConfig.from_dict(dict(model.config.to_dict(), fmad=False))
    off = SSMSAM(model.image_encoder, cfg)
    state = {k: v for k, v in model.state_dict().items() if ".blocks." not in k or not k.startswith("fmad.")}
    off.load_state_dict(state, strict=True)
    return off


# --- checks -----------------------------------------------------------------------------------------------

def check_encoder_forward(model, x):
    """The re-implemented encoder forward (taps, levels) against the library's own forward: with no
    adapter the deepest level must be exactly what image_encoder(x) returns."""
    with torch.no_grad():
        levels, _ = model.features(x)
        ref = model.image_encoder(x)
    check(torch.equal(levels[3], ref), f"level 3 != image_encoder(x): max |d| {(levels[3] - ref).abs().max():.3g}")


def check_config(cfg):
    """The JSON round trip is lossless and an unknown key is refused (the Swift config must match it)."""
    check(SSMSAMConfig.from_json(cfg.to_json()) == cfg, "config JSON round trip changed the config")
    try:
        SSMSAMConfig.from_dict(dict(cfg.to_dict(), no_such_key=1))
    except ConfigError:
        pass
    else:
        raise CheckFailed("SSMSAMConfig accepted an unknown key")


def check_points(inputs):
    mask = inputs["input.support_mask"][0, 0]
    for (x, y), lab in zip(inputs["input.points"][0].tolist(), inputs["input.point_labels"][0].tolist()):
        inside = bool(mask[int(y), int(x)])
        check(inside == (lab == 1), f"point ({x}, {y}) labelled {lab} is {'inside' if inside else 'outside'} the support mask")
    check(int(inputs["input.point_labels"].sum()) == HEADS["positive_points"], "positive point count")


def check_mask_prior(stages, inputs, cfg):
    m = torch.nn.functional.adaptive_avg_pool2d(inputs["input.support_mask"].float(), cfg.grid).flatten()
    mp = stages["mask"][0]
    check(torch.equal(mp, mp[:, :1].expand_as(mp)), "M' differs across channels")
    check(bool((mp[m >= 0.5, 0] == mp[:, 0].max()).all()), "M' inside the mask is not the blurred maximum")
    check(bool(((mp[:, 0] > 0) & (m < 0.5)).any()), "the blur leaves no halo outside the mask")
    check(abs(float(gaussian_kernel(cfg.sigma).sum()) - 1) < 1e-6, "blur kernel not normalised")


@contextlib.contextmanager
def flushed_denormals():
    """Float64 checks only: the random encoders' softmaxes underflow into subnormals, which run ~10x slower
    on this CPU; flushing them changes nothing above 1e-308. The fixtures themselves are computed without."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def zero_by_construction(name):
    """Heads whose gradient is mathematically zero; their stored gradients are float32 rounding noise
    (compare them with an absolute tolerance):
    - an attention's k_proj bias adds q . b_k to every logit of a query row, which the softmax removes;
    - an FMAM FFN's lin2 bias adds a constant per channel right before an instance norm over the
      positions, which removes it."""
    return name.endswith(".k_proj.bias") or (name.startswith("fmad.") and name.endswith(".ffn.lin2.bias"))


def check_grads(model, args, label, grads, rtol=1e-3):
    """Every gradient against a float64 copy of the twin: nonzero where it should be, zero (to float64
    rounding) where the maths says so, and the float32 values within rtol of float64 per tensor (a
    tensor failing this would be too ill-conditioned for a float32 parity test)."""
    md = copy.deepcopy(model).double()
    args64 = tuple(a.double() if a.is_floating_point() else a for a in args)
    trainable = md.trainable_parameters()
    with flushed_denormals():
        loss = ssmsam_loss(md(*args64), label.double())[0]
        g64 = dict(zip([n for n, _ in trainable], torch.autograd.grad(loss, [p for _, p in trainable])))
    scale = max(float(g.abs().max()) for g in g64.values())
    worst = 0.0
    for n, g in grads.items():
        ref = g64[n]
        if zero_by_construction(n):
            check(float(ref.abs().max()) < 1e-9 * scale, f"{n}: expected a zero gradient, float64 gives {ref.abs().max():.3g}")
            continue
        check(float(ref.norm()) > 1e-6 * scale, f"{n}: gradient (float64) is zero")
        err = float((g.double() - ref).norm() / ref.norm())
        worst = max(worst, err)
        check(err < rtol, f"{n}: float32 gradient off float64 by {err:.3g} (relative)")
    print(f"  gradients: float32 vs float64 worst relative error {worst:.3g} over {len(grads)} tensors")
    return md, args64, g64


def check_direction(md, args64, grads, label, alphas, eps=1e-6):
    """Central difference (float64) of the loss along d = alpha * grad against autograd's sum_t alpha_t
    |g_t|^2: catches a path the graph misses (a stray detach or no_grad), which the float64 grads above
    share with the float32 ones."""
    params = {n: p.detach() for n, p in md.trainable_parameters()}
    batch = (*args64, label.double())
    with torch.no_grad(), flushed_denormals():
        at = lambda s: float(loss_at(md, {n: p + s * float(alphas[n]) * grads[n] for n, p in params.items()}, batch)[0])
        numeric = (at(eps) - at(-eps)) / (2 * eps)
    analytic = sum(float(alphas[n]) * float(grads[n].pow(2).sum()) for n in params)
    check(abs(numeric - analytic) < 1e-3 * analytic, f"directional derivative: numeric {numeric:.9g}, autograd {analytic:.9g}")
    print(f"  directional derivative along alpha * grad (float64): numeric {numeric:.9g}, autograd {analytic:.9g}")


def check_round_trip(model, args):
    """save_pth / load_pth: strict, and the reloaded heads give identical logits."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "heads.pth")
        save_pth(model, path)
        other = build_twin(model.image_encoder, **{k: getattr(model.config, k) for k in ("adapters", "fmad", "fmad_keys")})
        with torch.no_grad():
            for p in other.parameters():
                if p.requires_grad:
                    p.add_(1.0)  # make sure the load, not the seed, is what makes them equal
        load_pth(other, path)
        with torch.no_grad():
            check(torch.equal(other(*args), model(*args)), "logits differ after a .pth round trip")
        state = torch.load(path, weights_only=True)
        check(list(state) == model.head_names(), ".pth names are not the head names in order")
        dropped = dict(state)
        dropped.pop(next(iter(dropped)))
        torch.save(dropped, path)
        try:
            load_pth(other, path)
        except CheckpointError:
            pass
        else:
            raise CheckFailed("load_pth accepted a file with a missing tensor")


# --- one fixture ------------------------------------------------------------------------------------------

def run(model, inputs, base, variant):
    cfg = model.config
    args = model_inputs(inputs)
    label = inputs["input.query_label"].float()
    out = {k: v.contiguous() for k, v in inputs.items()}
    check_points(inputs)
    check_config(cfg)

    stages = model(*args, return_stages=True)
    loss, bce, iou = ssmsam_loss(stages["logits256"], label)
    trainable = model.trainable_parameters()
    names = [n for n, _ in trainable]
    grads = dict(zip(names, torch.autograd.grad(loss, [p for _, p in trainable])))
    md, args64, g64 = check_grads(model, args, label, grads)
    check_mask_prior(stages, inputs, cfg)
    again = model(*args)
    check(torch.equal(again, stages["logits256"]), "the forward is not deterministic")

    # The inner step, with the same arithmetic the fixture states (float32 alpha times the gradient).
    alphas = {n: torch.tensor([1e-3 * (1 + i / 10)], dtype=torch.float32) for i, n in enumerate(names)}
    params = {n: p.detach().clone().requires_grad_(True) for n, p in trainable}
    new, grads2, loss2 = inner_step(model, params, (*args, label), alphas)
    check(torch.equal(loss2.detach(), loss.detach()), "functional_call loss != module loss")
    check(all(torch.equal(grads2[n], grads[n]) for n in names), "functional_call grads != module grads")
    with torch.no_grad():
        step_loss = loss_at(model, {n: t.detach() for n, t in new.items()}, (*args, label))[0]
    check_direction(md, args64, g64, label, alphas)

    for n, t in model.state_dict().items():
        if not n.startswith("image_encoder."):
            out[n] = t.detach().contiguous()
    if stages["highpass_query"] is not None:
        out["out.highpass.query"] = stages["highpass_query"]
    for tag in ("query", "support"):
        for j, t in enumerate(stages[f"levels_{tag}"]):
            out[f"out.levels.{tag}.{j}"] = t.detach()
    out["out.sampler.visual_prompts"] = stages["sampler_visual_prompts"].detach()
    out["out.sampler"] = stages["sampler"].detach()
    out["out.mask"] = stages["mask"]
    for j, blocks in enumerate(stages["fmam"]):
        for b, t in enumerate(blocks):
            out[f"out.fmam.{j}.{b}"] = t.detach()
    for j, t in enumerate(stages["y"]):
        out[f"out.y.{j}"] = t.detach()
    out["out.logits64"] = stages["logits64"].detach()
    out["out.logits256"] = stages["logits256"].detach()
    out["out.label256"] = label_at(label, 4 * cfg.grid)
    loss, bce, iou = loss.detach(), bce.detach(), iou.detach()
    out["loss"], out["loss.bce"], out["loss.iou"] = (t.reshape(1) for t in (loss, bce, iou))
    for n in names:
        out[f"grad.{n}"] = grads[n]
        out[f"alpha.{n}"] = alphas[n]
        out[f"step.{n}"] = new[n].detach()
    out["step.loss"] = step_loss.reshape(1)

    off = fmad_off_twin(model)
    with torch.no_grad():
        s_off = off(*args, return_stages=True)
        off_loss = ssmsam_loss(s_off["logits256"], label)[0]
    check(not any(".blocks." in k for k in off.head_names() if k.startswith("fmad.")), "FMAD-off has block weights")
    check((s_off["logits256"] - stages["logits256"]).abs().max() > 1e-2, "FMAD off gives the FMAD-on logits")
    for j, t in enumerate(s_off["y"]):
        out[f"fmad_off.out.y.{j}"] = t
    out["fmad_off.out.logits64"] = s_off["logits64"]
    out["fmad_off.out.logits256"] = s_off["logits256"]
    out["fmad_off.loss"] = off_loss.reshape(1)

    check_round_trip(model, args)
    meta = dict(config=cfg.to_json(), fmad_off_config=off.config.to_json(), trainable=json.dumps(names), base=base,
                base_sha256=sha256(os.path.join(HERE, "..", base)), torch=torch.__version__, variant=variant,
                points_rule=POINTS_RULE, alpha_rule="alpha.<name> = float32(1e-3 * (1 + index / 10)), index in 'trainable'",
                zero_gradient=json.dumps([n for n in names if zero_by_construction(n)]))
    print(f"{variant}: loss {float(loss):.5f} (bce {float(bce):.5f}, iou {float(iou):.5f}), step loss {float(step_loss):.5f} "
          f"FMAD-off loss {float(off_loss):.5f}, "
          f"{sum(p.numel() for _, p in trainable)} trainable in {len(names)} tensors")
    return out, meta, stages


def sort_metadata(path):
    """safetensors' writer keeps the metadata in a hash map, so its key order (and the file's bytes) change
    from run to run. Rewrite the header with the keys sorted: the same JSON, the same length (so the data
    offsets hold), byte-identical files for identical contents."""
    with open(path, "r+b") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        raw = f.read(n)
        header = json.loads(raw)
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
        if len(text.rstrip()) != len(raw.rstrip()) or json.loads(text) != json.loads(raw):
            raise RuntimeError(f"{path}: could not normalise the safetensors header")
        f.seek(8)
        f.write(text.ljust(n))


def write(name, out, meta):
    path = os.path.join(OUT, name)
    save_file({k: v.contiguous() for k, v in out.items()}, path, metadata=meta)
    sort_metadata(path)
    back = load_file(path)
    check(set(back) == set(out) and all(torch.equal(back[k], out[k]) for k in out), f"{path}: read back differs")
    print(f"  wrote {os.path.relpath(path, os.path.join(HERE, '..'))}: {os.path.getsize(path) / 1024:.0f} KB, {len(out)} tensors")


def main():
    torch.set_num_threads(min(2, torch.get_num_threads()))
    os.makedirs(OUT, exist_ok=True)

    enc, base = vit_base()
    on = build_twin(enc, adapters=True, fmad_keys="support")
    inputs = make_inputs(on.config.image_size, on.config)
    args = model_inputs(inputs)
    plain = build_twin(enc, adapters=False, fmad_keys="support")
    check_encoder_forward(plain, args[0])
    out, meta, stages_on = run(on, inputs, base, "vit, adapters on, FMAD on")
    write("ssmsam_vit_adapters.safetensors", out, meta)
    out, meta, stages_off = run(plain, inputs, base, "vit, adapters off, FMAD on")
    for j in range(4):  # the adapters must move every level, not only in the last digits
        a, b = stages_on["levels_query"][j], stages_off["levels_query"][j]
        check((a - b).norm() > 0.05 * b.norm(), f"adapters barely change level {j}")
    write("ssmsam_vit.safetensors", out, meta)

    enc, base = tinyvit_base()
    tiny = build_twin(enc, fmad_keys="support")
    check_encoder_forward(tiny, args[0])
    tiny_inputs = make_inputs(tiny.config.image_size, tiny.config)
    out, meta, stages_support = run(tiny, tiny_inputs, base, "tinyvit, FMAD on")
    write("ssmsam_tinyvit.safetensors", out, meta)
    query_keys = build_twin(enc, fmad_keys="query")
    out, meta, stages_query = run(query_keys, tiny_inputs, base, "tinyvit, FMAD on, keys on the query's features")
    # The same weights and inputs: only the keys' features differ, and they must change what FMAM computes.
    a, b = stages_query["fmam"][0][0], stages_support["fmam"][0][0]
    check((a - b).norm() > 0.05 * b.norm(), "the keys' features barely change FMAM's output")
    write("ssmsam_tinyvit_query_keys.safetensors", out, meta)


if __name__ == "__main__":
    main()
