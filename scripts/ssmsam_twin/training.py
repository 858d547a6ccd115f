"""The online optimiser's inner step (Algorithm 1) and evaluation at adapted parameters.

theta' = theta - alpha_t * grad_t for every trainable tensor t, alpha_t its own rate (MAML++'s LSLR: one
rate per parameter tensor per inner step). The model's own parameters are never modified: theta' is a
dict evaluated with torch.func.functional_call, which is what a meta-learner needs.
"""
import torch
from torch.func import functional_call

from .losses import ssmsam_loss


def loss_at(model, params, batch):
    """(total, bce, iou) of `model` with `params` (a {name: tensor} dict overriding its parameters) on
    batch = (query, support, support_mask, points, point_labels, query_label)."""
    query, support, support_mask, points, labels, label = batch
    logits = functional_call(model, params, (query, support, support_mask, points, labels))
    return ssmsam_loss(logits, label)


def inner_step(model, params, batch, alphas, create_graph=False):
    """One plain gradient step from `params` (name -> tensor, requires_grad) with per-tensor rates `alphas`
    (name -> float or 0-d / 1-element tensor). Returns (theta', grads, loss). create_graph=False is
    first-order MAML (the design's choice: no second derivatives)."""
    missing = sorted(set(params) - set(alphas))
    if missing:
        raise ValueError(f"inner_step: no learning rate for {missing}")
    loss, _, _ = loss_at(model, params, batch)
    names = list(params)
    grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=create_graph)
    new = {n: params[n] - alphas[n] * g for n, g in zip(names, grads)}
    return new, dict(zip(names, grads)), loss
