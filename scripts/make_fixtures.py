#!/usr/bin/env python3
"""Writes the tensor-core parity fixtures with real PyTorch.

Each case is one safetensors file in Tests/TensorCoreTests/Fixtures/: the inputs (`in.NAME`), the
output (`out` or `out.K`), the upstream gradient (`grad_out`) and the gradient of every input
(`grad.NAME`) of  loss = sum(out * grad_out). The case's parameters travel as JSON in `__metadata__`.
Run:  python3 scripts/make_fixtures.py   (pip install torch==2.13.0+cpu safetensors)
"""
import json, math, os, sys
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "TensorCoreTests", "Fixtures")
torch.manual_seed(0)
torch.set_default_dtype(torch.float32)


def save(name, inputs, fn, params=None, grad_inputs=None):
    """Runs fn(**inputs) (a tensor or tuple), backpropagates a random upstream gradient, saves all."""
    leaves = {k: v.clone().requires_grad_(grad_inputs is None or k in grad_inputs) for k, v in inputs.items()}
    out = fn(**leaves)
    outs = out if isinstance(out, tuple) else (out,)
    tensors = {f"in.{k}": v.detach().contiguous() for k, v in inputs.items()}
    loss = 0
    for i, o in enumerate(outs):
        key = "out" if len(outs) == 1 else f"out.{i}"
        g = torch.randn(o.shape)
        tensors[key] = o.detach().contiguous()
        tensors["grad_out" if len(outs) == 1 else f"grad_out.{i}"] = g
        loss = loss + (o * g).sum()
    loss.backward()
    for k, v in leaves.items():
        if v.grad is not None:
            tensors[f"grad.{k}"] = v.grad.contiguous()
    meta = {"params": json.dumps(params or {}), "torch": torch.__version__}
    save_file(tensors, os.path.join(OUT, f"{name}.safetensors"), metadata=meta)


def r(*shape):
    return torch.randn(*shape)


def sam_layernorm2d(x, w, b, eps=1e-6):
    # segment_anything.modeling.common.LayerNorm2d
    u = x.mean(1, keepdim=True)
    s = (x - u).pow(2).mean(1, keepdim=True)
    x = (x - u) / torch.sqrt(s + eps)
    return w[:, None, None] * x + b[:, None, None]


def window_partition(x, ws):
    # segment_anything.modeling.image_encoder.window_partition
    B, H, W, C = x.shape
    pad_h = (ws - H % ws) % ws
    pad_w = (ws - W % ws) % ws
    if pad_h > 0 or pad_w > 0:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    Hp, Wp = H + pad_h, W + pad_w
    x = x.view(B, Hp // ws, ws, Wp // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, C), (Hp, Wp)


def window_unpartition(windows, ws, pad_hw, hw):
    Hp, Wp = pad_hw
    H, W = hw
    B = windows.shape[0] // (Hp * Wp // ws // ws)
    x = windows.view(B, Hp // ws, Wp // ws, ws, ws, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, Hp, Wp, -1)
    if Hp > H or Wp > W:
        x = x[:, :H, :W, :].contiguous()
    return x


def gaussian_blur(x, k, sigma):
    # torchvision.transforms.functional.gaussian_blur on a tensor (torchvision's own algorithm,
    # written out because PyPI's torchvision does not load with the CPU torch wheel).
    half = (k - 1) * 0.5
    t = torch.linspace(-half, half, steps=k)
    pdf = torch.exp(-0.5 * (t / sigma).pow(2))
    k1 = pdf / pdf.sum()
    k2 = (k1[:, None] * k1[None, :]).expand(x.shape[1], 1, k, k)
    p = k // 2
    x = F.pad(x, [p, p, p, p], mode="reflect")
    return F.conv2d(x, k2, groups=x.shape[1])


def main():
    os.makedirs(OUT, exist_ok=True)
    # Products
    save("matmul_2d", {"a": r(5, 7), "b": r(7, 3)}, lambda a, b: a @ b)
    save("matmul_batched", {"a": r(2, 4, 5), "b": r(2, 5, 3)}, lambda a, b: a @ b)
    save("matmul_shared_b", {"a": r(2, 4, 5), "b": r(5, 3)}, lambda a, b: a @ b)
    save("matmul_transpose_a", {"a": r(2, 5, 4), "b": r(2, 5, 3)}, lambda a, b: a.transpose(-1, -2) @ b,
         {"transposeA": True})
    save("matmul_transpose_b", {"a": r(2, 4, 5), "b": r(2, 3, 5)}, lambda a, b: a @ b.transpose(-1, -2),
         {"transposeB": True})
    save("matmul_transpose_both_shared", {"a": r(3, 5, 4), "b": r(6, 5)},
         lambda a, b: a.transpose(-1, -2) @ b.t(), {"transposeA": True, "transposeB": True})
    save("linear", {"x": r(2, 3, 8), "w": r(6, 8), "b": r(6)}, lambda x, w, b: F.linear(x, w, b))
    # Element-wise with broadcasting
    for op, fn in [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b)]:
        save(f"{op}_broadcast", {"a": r(3, 1, 5), "b": r(4, 1)}, fn)
    save("div_broadcast", {"a": r(3, 4, 5), "b": r(5).abs() + 0.5}, lambda a, b: a / b)
    # Reductions
    save("sum_axes", {"x": r(3, 4, 5)}, lambda x: x.sum(dim=(0, 2)), {"axes": [0, 2], "keepDims": False})
    save("mean_keepdim", {"x": r(3, 4, 5)}, lambda x: x.mean(dim=1, keepdim=True), {"axes": [1], "keepDims": True})
    save("max_axis", {"x": r(3, 4, 5)}, lambda x: x.max(dim=1).values, {"axis": 1})
    # Softmax family and activations
    save("softmax", {"x": r(3, 4, 6) * 3}, lambda x: torch.softmax(x, dim=-1), {"axis": -1})
    save("softmax_axis1", {"x": r(3, 4, 6) * 3}, lambda x: torch.softmax(x, dim=1), {"axis": 1})
    save("log_softmax", {"x": r(3, 7) * 3}, lambda x: torch.log_softmax(x, dim=-1), {"axis": -1})
    save("logsigmoid", {"x": r(50) * 8}, lambda x: F.logsigmoid(x))
    save("gelu", {"x": r(200) * 3}, lambda x: F.gelu(x))
    save("relu", {"x": r(50)}, lambda x: F.relu(x))
    save("sigmoid", {"x": r(50) * 4}, lambda x: torch.sigmoid(x))
    # Normalisations
    save("layer_norm", {"x": r(2, 5, 16) * 2 + 1, "w": r(16), "b": r(16)},
         lambda x, w, b: F.layer_norm(x, (16,), w, b, eps=1e-6), {"eps": 1e-6})
    save("layer_norm2d", {"x": r(2, 8, 5, 6) * 2 + 1, "w": r(8), "b": r(8)},
         lambda x, w, b: sam_layernorm2d(x, w, b), {"eps": 1e-6})
    save("instance_norm", {"x": r(2, 3, 6, 5) * 2 + 1}, lambda x: F.instance_norm(x, eps=1e-5), {"eps": 1e-5})
    # Convolutions
    save("conv2d_stride_pad", {"x": r(2, 3, 11, 9), "w": r(5, 3, 3, 3), "b": r(5)},
         lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), {"stride": [2, 2], "padding": [1, 1], "groups": 1})
    save("conv2d_1x1", {"x": r(2, 6, 5, 4), "w": r(4, 6, 1, 1)},
         lambda x, w: F.conv2d(x, w), {"stride": [1, 1], "padding": [0, 0], "groups": 1})
    save("conv2d_depthwise", {"x": r(1, 4, 7, 7), "w": r(4, 1, 3, 3), "b": r(4)},
         lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=4), {"stride": [1, 1], "padding": [1, 1], "groups": 4})
    save("conv2d_patch", {"x": r(1, 3, 32, 32), "w": r(8, 3, 16, 16), "b": r(8)},
         lambda x, w, b: F.conv2d(x, w, b, stride=16), {"stride": [16, 16], "padding": [0, 0], "groups": 1})
    save("conv_transpose2d", {"x": r(2, 6, 4, 5), "w": r(6, 3, 2, 2), "b": r(3)},
         lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2))
    # Resampling
    save("bilinear_up", {"x": r(2, 3, 5, 7)},
         lambda x: F.interpolate(x, size=(12, 9), mode="bilinear", align_corners=False),
         {"size": [12, 9], "alignCorners": False})
    save("bilinear_down", {"x": r(1, 2, 16, 12)},
         lambda x: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=False),
         {"size": [5, 7], "alignCorners": False})
    save("bilinear_align_corners", {"x": r(1, 2, 5, 6)},
         lambda x: F.interpolate(x, size=(9, 11), mode="bilinear", align_corners=True),
         {"size": [9, 11], "alignCorners": True})
    # SAM's rel-pos table resize: F.interpolate(t.reshape(1, L, -1).permute(0, 2, 1), size=n, mode="linear")
    save("interpolate_rows", {"t": r(27, 8)},
         lambda t: F.interpolate(t.reshape(1, 27, -1).permute(0, 2, 1), size=127, mode="linear")
         .reshape(-1, 127).permute(1, 0), {"length": 127})
    save("grid_sample", {"x": r(2, 3, 6, 7), "grid": torch.rand(2, 1, 10, 2) * 2.4 - 1.2},
         lambda x, grid: F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False))
    save("gaussian_blur", {"x": r(2, 2, 12, 10)}, lambda x: gaussian_blur(x, 7, 1.5), {"kernelSize": 7, "sigma": 1.5})
    # Layout
    save("pad", {"x": r(2, 3, 4)}, lambda x: F.pad(x, (1, 2, 0, 3)), {"amounts": [[0, 0], [0, 3], [1, 2]]})
    save("permute", {"x": r(2, 3, 4, 5)}, lambda x: x.permute(2, 0, 3, 1).contiguous(), {"order": [2, 0, 3, 1]})
    save("concat", {"a": r(2, 3, 4), "b": r(2, 1, 4)}, lambda a, b: torch.cat([a, b], dim=1), {"axis": 1})
    save("split", {"x": r(3, 7)}, lambda x: tuple(t.contiguous() for t in torch.split(x, [2, 4, 1], dim=1)),
         {"sizes": [2, 4, 1], "axis": 1})

    def wp(x):
        w, pad_hw = window_partition(x, 4)
        return w
    save("window_partition", {"x": r(2, 9, 10, 3)}, wp, {"window": 4})
    save("window_roundtrip", {"x": r(1, 9, 10, 3)},
         lambda x: window_unpartition(window_partition(x, 4)[0] * 2, 4, (12, 12), (9, 10)), {"window": 4})

    # Optimisers: 10 steps on a small least-squares problem.
    def optimiser_case(name, make, params):
        torch.manual_seed(1)
        w0 = torch.randn(4, 3)
        xs = [torch.randn(5, 4) for _ in range(10)]
        ys = [torch.randn(5, 3) for _ in range(10)]
        w = w0.clone().requires_grad_(True)
        opt = make([w])
        weights, lrs = [], []
        for x, y in zip(xs, ys):
            opt.zero_grad()
            loss = ((x @ w - y) ** 2).mean()
            loss.backward()
            opt.step()
            weights.append(w.detach().clone())
        t = {"w0": w0, "x": torch.stack(xs), "y": torch.stack(ys), "weights": torch.stack(weights)}
        save_file(t, os.path.join(OUT, f"{name}.safetensors"), metadata={"params": json.dumps(params)})
    optimiser_case("adamw", lambda p: torch.optim.AdamW(p, lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1),
                   {"lr": 0.05, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weightDecay": 0.1})
    optimiser_case("sgd_momentum", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
                   {"lr": 0.1, "momentum": 0.9, "weightDecay": 0.01})
    # Cosine annealing learning rates over 12 epochs.
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12, eta_min=0.01)
    lrs = []
    for _ in range(15):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    save_file({"lrs": torch.tensor(lrs, dtype=torch.float32)}, os.path.join(OUT, "cosine.safetensors"),
              metadata={"params": json.dumps({"base": 0.3, "tMax": 12, "etaMin": 0.01})})
    print("wrote", len(os.listdir(OUT)), "fixtures to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
