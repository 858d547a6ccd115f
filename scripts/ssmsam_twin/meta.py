"""First-order MAML++ (the meta-learner of Algorithm 2) on the twin: the multi-step loss weights, the
outer rate's cosine annealing, the meta-gradients of one meta-batch by autograd on the first-order graph,
and the outer step (AdamW over the heads and the learned per-step rates, the rates clamped to >= 0).

Per task, inner step s: g_s = grad L_support(theta_s), a constant (first order: no second derivatives);
theta_{s+1} = theta_s - alpha_s * g_s per tensor; the objective is mean over tasks of
sum_s w_s L_query(theta_{s+1}). Backpropagating that graph gives d/dtheta = sum_s w_s grad L_query(theta_{s+1})
and d/dalpha_{j,t} = -sum_{s>=j} w_s <grad_t L_query(theta_{s+1}), g_{j,t}>, which
`explicit_meta_gradients` computes in closed form (as the Swift MetaLearner does) to check it.
"""
import math

import torch

from .training import loss_at


def multi_step_weights(n, annealing_epochs, epoch):
    """MAML++'s per-step loss importance (HowToTrainYourMAMLPytorch, get_per_step_loss_importance_vector)
    for epoch < annealing_epochs, in float64 then float32; from annealing_epochs on, the last step only."""
    if epoch >= annealing_epochs or n == 1:
        return torch.tensor([0.0] * (n - 1) + [1.0], dtype=torch.float32)
    w = [1.0 / n] * n
    decay = 1.0 / n / annealing_epochs
    floor = 0.03 / n
    for i in range(n - 1):
        w[i] = max(w[i] - epoch * decay, floor)
    w[-1] = min(w[-1] + epoch * (n - 1) * decay, 1.0 - (n - 1) * floor)
    return torch.tensor(w, dtype=torch.float32)


def cosine_lr(base, epoch, t_max, eta_min):
    """CosineAnnealingLR's closed form at `epoch`."""
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / t_max)) / 2


def _mean_loss(model, params, batches):
    return sum(loss_at(model, params, b)[0] for b in batches) / len(batches)


def meta_gradients(model, params, rates, episodes, weights, tasks=None):
    """Autograd on the first-order MAML++ graph. params: {name: leaf tensor, requires_grad}; rates:
    {name: (S,) leaf tensor, requires_grad}; episodes: [(support_batches, query_batches)], each batch a
    `loss_at` tuple; weights: (S,) multi-step weights. Accumulates the gradients into params[n].grad and
    rates[n].grad (zero them first) and returns a dict: objective, theta_prime (per task), support_loss and
    query_loss (per task and step). tasks: the meta-batch's task count when `episodes` is only part of it
    (one process's share under torch.distributed: the objective is the mean over all tasks, so the
    processes' gradients add up to the meta-batch's); default len(episodes)."""
    tasks = tasks or len(episodes)
    names = list(params)
    steps = next(iter(rates.values())).numel()
    objective = 0
    out = dict(theta_prime=[], support_loss=[], query_loss=[])
    for support, queries in episodes:
        theta = dict(params)
        task, s_losses, q_losses = 0, [], []
        for s in range(steps):
            loss = _mean_loss(model, theta, support)
            grads = torch.autograd.grad(loss, [theta[n] for n in names])  # no create_graph: constants
            theta = {n: theta[n] - rates[n][s] * g for n, g in zip(names, grads)}
            s_losses.append(float(loss.detach()))
            if float(weights[s]) != 0:
                q = _mean_loss(model, theta, queries)
                task = task + weights[s] * q
                q_losses.append(float(q.detach()))
            else:
                q_losses.append(float("nan"))
        objective = objective + task / tasks
        out["theta_prime"].append({n: t.detach() for n, t in theta.items()})
        out["support_loss"].append(s_losses)
        out["query_loss"].append(q_losses)
    if torch.is_tensor(objective):  # a process with no task of this meta-batch contributes zero gradients
        objective.backward()
    out["objective"] = float(objective.detach()) if torch.is_tensor(objective) else 0.0
    return out


def explicit_meta_gradients(model, params, rates, episodes, weights):
    """The same gradients in closed form, without differentiating through any update: returns
    ({name: outer gradient}, {name: (S,) rate gradient})."""
    names = list(params)
    steps = next(iter(rates.values())).numel()
    outer = {n: torch.zeros_like(p) for n, p in params.items()}
    rate_grads = {n: torch.zeros(steps, dtype=p.dtype) for n, p in params.items()}
    for support, queries in episodes:
        theta = {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}
        inner = []
        for s in range(steps):
            g = torch.autograd.grad(_mean_loss(model, theta, support), [theta[n] for n in names])
            inner.append(dict(zip(names, g)))
            with torch.no_grad():
                theta = {n: (theta[n] - rates[n][s].detach() * inner[s][n]).requires_grad_(True) for n in names}
            w = float(weights[s])
            if w == 0:
                continue
            gq = dict(zip(names, torch.autograd.grad(_mean_loss(model, theta, queries), [theta[n] for n in names])))
            for n in names:
                outer[n] += w * gq[n] / len(episodes)
                for j in range(s + 1):
                    rate_grads[n][j] -= w * torch.sum(gq[n] * inner[j][n]) / len(episodes)
    return outer, rate_grads


def outer_optimiser(params, rates, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, learn_rates=True):
    """The outer AdamW over the heads then the rates (the Swift MetaLearner's order); without learn_rates
    (`--no-meta` runs) the rates are not in it."""
    return torch.optim.AdamW(list(params.values()) + (list(rates.values()) if learn_rates else []), lr=lr,
                             betas=betas, eps=eps, weight_decay=weight_decay)


def outer_step(params, rates, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, optimiser=None):
    """One AdamW step over the heads and the rates with their .grad at outer rate `lr` (of `optimiser`, which
    keeps its moments across meta-batches; default a fresh one), then the rates clamped to >= 0 (the authors
    do not clamp; the toolkit does). Returns the optimiser (its state for checks)."""
    opt = optimiser or outer_optimiser(params, rates, lr, betas, eps, weight_decay)
    for group in opt.param_groups:
        group["lr"] = lr
    opt.step()
    with torch.no_grad():
        for r in rates.values():
            r.clamp_(min=0)
    return opt
