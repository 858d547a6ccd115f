#!/usr/bin/env python3
"""Writes the few-shot engine's parity fixture with the PyTorch twin (scripts/ssmsam_twin) for the Swift
tests (Tests/FewShotTests/Fixtures/fewshot_tinyvit.safetensors): one first-order MAML++ meta-batch on the
small TinyViT base (the cheap path: frozen encoder, trainable level projections and heads).

The heads are those of Tests/SSMSAMTests/Fixtures/ssmsam_tinyvit.safetensors (not repeated here), the base
Tests/SAMTests/Fixtures/mobilesam_small.safetensors. T = 2 tasks (two "organs" on the same three slices),
K = 1 support (predicted from itself in the inner loop), K' = 2 queries (predicted from the support),
S = 3 inner steps, multi-step weights of epoch 1 of E = 4 annealing epochs ([0.25, 0.25, 0.5]), outer rate
cosine-annealed over 10 epochs from 2e-4 to 1e-7 at epoch 1, AdamW betas (0.9, 0.999), eps 1e-8, wd 0.01.

Contents:
  input.image.{0,1,2}              (1, 3, S, S) float16: the slices (the twin uses them upcast, exactly)
  input.task.{i}.support_mask      (1, 1, S, S) uint8: task i's support mask on slice support_slice[i]
  input.task.{i}.query_label.{j}   (1, 1, S, S) uint8: the label of task i's query j (slice query_slices[i][j])
  input.task.{i}.points (1, P, 2) float32, input.task.{i}.point_labels (1, P) int64: from the support mask
  lslr.<name>                      (S,) the initial rates: 1e-2 (1 + index / 20) (1 + s / 4); every 5th tensor 1e-4
  theta_prime.{i}.<name>           theta' of task i after S inner steps
  outer_grad.<name>                the first-order outer gradient (task mean of sum_s w_s grad L_query(theta_{s+1}))
  lslr_grad.<name>                 (S,) the rates' gradient
  lslr_new.<name>                  (S,) the rates after the AdamW step and the clamp
  support_loss, query_loss         (T, S): the support loss at theta_s, the query loss at theta_{s+1}
  objective                        (1,) the meta-batch's weighted outer loss
Metadata: config, trainable (names in order), heads, base and their sha256, tasks (JSON layout), the
schedule and optimiser settings, torch version.
"""
import copy
import hashlib
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_ssmsam_fixtures import (tinyvit_base, build_twin, ellipse, slice_image, check, sha256,  # noqa: E402
                                  sort_metadata, flushed_denormals, zero_by_construction)
from ssmsam_twin import sample_points  # noqa: E402
from ssmsam_twin.meta import multi_step_weights, cosine_lr, meta_gradients, explicit_meta_gradients, outer_step  # noqa: E402

OUT = os.path.join(HERE, "..", "Tests", "FewShotTests", "Fixtures")
HEADS = os.path.join(HERE, "..", "Tests", "SSMSAMTests", "Fixtures", "ssmsam_tinyvit.safetensors")
STEPS, ANNEAL, EPOCH, EPOCHS = 3, 4, 1, 10
LR, ETA_MIN, BETAS, EPS, WD = 2e-4, 1e-7, (0.9, 0.999), 1e-8, 0.01
# Task i: support slice, query slices; organ i is ellipse ORGANS[i][slice].
SUPPORT, QUERIES = [0, 1], [[1, 2], [0, 2]]


def organs(s):
    """Two organs on three adjacent slices: a drifting, growing ellipse each."""
    a = [ellipse(s, (0.36 + 0.03 * k) * s, 0.45 * s, (0.17 + 0.01 * k) * s, 0.13 * s) for k in range(3)]
    b = [ellipse(s, 0.68 * s, (0.60 - 0.03 * k) * s, 0.11 * s, (0.14 - 0.01 * k) * s) for k in range(3)]
    return [a, b]


def rate_init(names):
    return {n: torch.tensor([1e-4 if i % 5 == 4 else 1e-2 * (1 + i / 20) * (1 + s / 4) for s in range(STEPS)],
                            dtype=torch.float32) for i, n in enumerate(names)}


def load_heads(model):
    heads = {k: v for k, v in load_file(HEADS).items() if k in set(model.head_names())}
    check(set(heads) == set(model.head_names()), "the SSM-SAM fixture lacks head tensors")
    missing, unexpected = model.load_state_dict(heads, strict=False)
    check(not unexpected and all(k.startswith("image_encoder.") for k in missing), "heads do not load")


def main():
    torch.set_num_threads(min(2, torch.get_num_threads()))
    os.makedirs(OUT, exist_ok=True)
    enc, base = tinyvit_base()
    model = build_twin(enc)
    load_heads(model)
    cfg = model.config
    s = cfg.image_size
    g = torch.Generator().manual_seed(21)
    orgs = organs(s)
    images = [slice_image(s, orgs[0][k] | orgs[1][k], g) for k in range(3)]
    out = {f"input.image.{k}": im.contiguous() for k, im in enumerate(images)}
    episodes, tasks = [], []
    for i in range(2):
        sup, mask = SUPPORT[i], orgs[i][SUPPORT[i]]
        pts, labels = sample_points(mask[0, 0], cfg.positive_points, cfg.negative_points, band=s // 16,
                                    generator=torch.Generator().manual_seed(30 + i))
        pts, labels = pts[None], labels[None]
        out[f"input.task.{i}.support_mask"] = mask
        out[f"input.task.{i}.points"] = pts
        out[f"input.task.{i}.point_labels"] = labels
        img = lambda k: images[k].float()
        support = [(img(sup), img(sup), mask.float(), pts, labels, mask.float())]
        queries = []
        for j, q in enumerate(QUERIES[i]):
            out[f"input.task.{i}.query_label.{j}"] = orgs[i][q]
            queries.append((img(q), img(sup), mask.float(), pts, labels, orgs[i][q].float()))
        episodes.append((support, queries))
        tasks.append(dict(support_slice=sup, query_slices=QUERIES[i]))

    names = [n for n, _ in model.trainable_parameters()]
    weights = multi_step_weights(STEPS, ANNEAL, EPOCH)
    check(torch.allclose(weights, torch.tensor([0.25, 0.25, 0.5])), f"weights {weights}")
    init = rate_init(names)
    params = {n: p.detach().clone().requires_grad_(True) for n, p in model.trainable_parameters()}
    rates = {n: r.clone().requires_grad_(True) for n, r in init.items()}
    res = meta_gradients(model, params, rates, episodes, weights)

    # The closed form (the Swift MetaLearner's arithmetic) must agree with autograd on the first-order graph.
    outer, rate_grads = explicit_meta_gradients(model, params, rates, episodes, weights)
    worst_o = max(float((outer[n] - params[n].grad).norm() / params[n].grad.norm().clamp(min=1e-30)) for n in names
                  if not zero_by_construction(n))
    worst_r = max(float((rate_grads[n] - rates[n].grad).norm() / rates[n].grad.norm()) for n in names
                  if not zero_by_construction(n))
    check(worst_o < 1e-4 and worst_r < 1e-4, f"closed form vs autograd: outer {worst_o:.3g}, rates {worst_r:.3g}")
    print(f"  closed form vs autograd: outer gradient {worst_o:.2g}, rate gradient {worst_r:.2g} (relative)")
    # And in float64, where the only difference left is the order of the sums.
    with flushed_denormals():
        m64 = copy.deepcopy(model).double()
        conv = lambda b: tuple(t.double() if t.is_floating_point() else t for t in b)
        ep64 = [([conv(b) for b in sup], [conv(b) for b in q]) for sup, q in episodes]
        p64 = {n: p.detach().double().requires_grad_(True) for n, p in params.items()}
        r64 = {n: r.detach().double().requires_grad_(True) for n, r in init.items()}
        res64 = meta_gradients(m64, p64, r64, ep64, weights.double())
        o64, rg64 = explicit_meta_gradients(m64, p64, r64, ep64, weights.double())
    check(all(float((rg64[n] - r64[n].grad).abs().max()) <= 1e-9 * float(r64[n].grad.abs().max()) + 1e-30 for n in names),
          "float64 closed-form rate gradient != autograd")
    worst32 = max(float((rates[n].grad.double() - r64[n].grad).norm() / r64[n].grad.norm()) for n in names
                  if not zero_by_construction(n))
    check(worst32 < 1e-3, f"float32 rate gradients off float64 by {worst32:.3g}")
    print(f"  float32 vs float64: rate gradients {worst32:.2g}, objective {res['objective']:.7g} vs {res64['objective']:.7g}")

    # The inner steps must move theta well beyond the parity tolerance, and the multi-step loss must count.
    moved = min(float((res["theta_prime"][0][n] - params[n]).abs().max() / res["theta_prime"][0][n].abs().max())
                for n in names if not zero_by_construction(n) and init[n][0] > 1e-3)
    print(f"  theta' - theta: at least {moved:.2g} of max |theta'| per tensor (rates 1e-2 scale)")
    for i in range(2):
        print(f"  task {i}: support loss {res['support_loss'][i]}, query loss {res['query_loss'][i]}")

    lr = cosine_lr(LR, EPOCH, EPOCHS, ETA_MIN)
    grads_theta = {n: params[n].grad.clone() for n in names}
    grads_rates = {n: rates[n].grad.clone() for n in names}
    outer_step(params, rates, lr, BETAS, EPS, WD)
    clamped = sum(int((rates[n] == 0).sum()) for n in names)
    check(clamped > 0, "no rate reached the clamp: the fixture would not test it")
    print(f"  outer step at lr {lr:.6g}: {clamped} rates clamped to 0")

    for n in names:
        out[f"lslr.{n}"] = init[n]
        out[f"outer_grad.{n}"] = grads_theta[n]
        out[f"lslr_grad.{n}"] = grads_rates[n]
        out[f"lslr_new.{n}"] = rates[n].detach().clone()
        for i in range(2):
            out[f"theta_prime.{i}.{n}"] = res["theta_prime"][i][n].clone()
    out["support_loss"] = torch.tensor(res["support_loss"], dtype=torch.float32)
    out["query_loss"] = torch.tensor(res["query_loss"], dtype=torch.float32)
    out["objective"] = torch.tensor([res["objective"]], dtype=torch.float32)
    heads_rel = "Tests/SSMSAMTests/Fixtures/ssmsam_tinyvit.safetensors"
    meta = dict(config=cfg.to_json(), trainable=json.dumps(names), heads=heads_rel, heads_sha256=sha256(HEADS),
                base=base, base_sha256=sha256(os.path.join(HERE, "..", base)), tasks=json.dumps(tasks),
                steps=str(STEPS), annealing_epochs=str(ANNEAL), epoch=str(EPOCH), epochs=str(EPOCHS),
                outer_rate=repr(LR), min_outer_rate=repr(ETA_MIN), betas=json.dumps(BETAS), eps=repr(EPS),
                weight_decay=repr(WD), torch=torch.__version__,
                zero_gradient=json.dumps([n for n in names if zero_by_construction(n)]),
                rates_rule="lslr.<name>[s] = float32(1e-4) for index % 5 == 4, else float32(1e-2 (1 + index / 20) (1 + s / 4))")
    path = os.path.join(OUT, "fewshot_tinyvit.safetensors")
    save_file({k: v.contiguous() for k, v in out.items()}, path, metadata=meta)
    sort_metadata(path)
    back = load_file(path)
    check(set(back) == set(out) and all(torch.equal(back[k], out[k]) for k in out), "read back differs")
    print(f"  wrote {os.path.relpath(path, os.path.join(HERE, '..'))}: {os.path.getsize(path) / 1024:.0f} KB, {len(out)} tensors")


if __name__ == "__main__":
    main()
