#!/usr/bin/env python3
"""Writes Tests/TensorCoreTests/Fixtures/initializer_stats.json with real PyTorch.

For each case, one large tensor (about 1e6 elements) filled by a `torch.nn.init` function (or by a real
`nn.Linear` / `nn.Conv2d`'s `reset_parameters`), and torch's sample statistics of it: mean, std
(population), min, max, kurtosis (m4 / m2^2, which the Swift test needs for the standard error of
the std) and the fraction of elements within one std of the mean. Also the shape, torch's
fan-in/fan-out of it, the bounds a uniform or truncated draw must stay within, and torch's gains.
The Swift side (InitializerTests) draws the same shapes with its own generator and compares.
Run:  python3 scripts/make_initializer_fixtures.py   (pip install torch==2.13.0+cpu)
"""
import json, math, os
import torch
import torch.nn as nn
from torch.nn import init

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "TensorCoreTests", "Fixtures", "initializer_stats.json")
torch.manual_seed(0)


def fans(shape):
    return init._calculate_fan_in_and_fan_out(torch.empty(shape)) if len(shape) >= 2 else (None, None)


def kaiming_bound(shape, a, mode):
    # torch.nn.init.kaiming_uniform_ with its default nonlinearity "leaky_relu"
    fan_in, fan_out = fans(shape)
    return math.sqrt(3.0) * init.calculate_gain("leaky_relu", a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def xavier_bound(shape, gain):
    fan_in, fan_out = fans(shape)
    return gain * math.sqrt(6.0 / (fan_in + fan_out))


def bias_bound(weight_shape):
    # nn.Linear / nn.ConvNd reset_parameters
    fan_in, _ = fans(weight_shape)
    return 1 / math.sqrt(fan_in) if fan_in > 0 else 0


def filled(shape, fill):
    w = torch.empty(shape)
    fill(w)
    return w


# name: (shape, how torch was called, tensor, bounds or None)
CASES = {}


def case(name, shape, call, tensor, low=None, high=None, **extra):
    CASES[name] = dict(shape=list(shape), call=call, tensor=tensor, low=low, high=high, extra=extra)


case("zeros", [1000, 1000], "init.zeros_(w)", filled([1000, 1000], init.zeros_))
case("ones", [1000, 1000], "init.ones_(w)", filled([1000, 1000], init.ones_))
case("constant", [1000, 1000], "init.constant_(w, 0.25)", filled([1000, 1000], lambda w: init.constant_(w, 0.25)))
case("normal", [1024, 1024], "init.normal_(w, mean=0.5, std=2.0)",
     filled([1024, 1024], lambda w: init.normal_(w, mean=0.5, std=2.0)))
case("uniform", [1024, 1024], "init.uniform_(w, a=-3.0, b=1.0)",
     filled([1024, 1024], lambda w: init.uniform_(w, a=-3.0, b=1.0)), low=-3.0, high=1.0)
case("trunc_normal_default", [1024, 1024], "init.trunc_normal_(w)",
     filled([1024, 1024], init.trunc_normal_), low=-2.0, high=2.0)
# a and b are absolute: with std 0.02 the default [-2, 2] cuts nothing (a ViT's usual call).
case("trunc_normal_std002", [1024, 1024], "init.trunc_normal_(w, std=0.02)",
     filled([1024, 1024], lambda w: init.trunc_normal_(w, std=0.02)), low=-2.0, high=2.0)
case("trunc_normal_offset", [1024, 1024], "init.trunc_normal_(w, mean=1.0, std=0.5, a=0.0, b=3.0)",
     filled([1024, 1024], lambda w: init.trunc_normal_(w, mean=1.0, std=0.5, a=0.0, b=3.0)), low=0.0, high=3.0)
# mass 0.09 < 0.3: torch's uniform-proposal branch
case("trunc_normal_narrow_tail", [1024, 1024], "init.trunc_normal_(w, mean=0.0, std=1.0, a=1.0, b=1.5)",
     filled([1024, 1024], lambda w: init.trunc_normal_(w, mean=0.0, std=1.0, a=1.0, b=1.5)), low=1.0, high=1.5)
case("kaiming_normal_default", [256, 1024, 2, 2], "init.kaiming_normal_(w)",
     filled([256, 1024, 2, 2], init.kaiming_normal_))
case("kaiming_normal_fan_out_relu", [512, 128, 4, 4], "init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')",
     filled([512, 128, 4, 4], lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")))
case("kaiming_normal_leaky_0.2", [1024, 1024], "init.kaiming_normal_(w, a=0.2, nonlinearity='leaky_relu')",
     filled([1024, 1024], lambda w: init.kaiming_normal_(w, a=0.2, nonlinearity="leaky_relu")))
case("kaiming_normal_linear", [1024, 1024], "init.kaiming_normal_(w, nonlinearity='linear')",
     filled([1024, 1024], lambda w: init.kaiming_normal_(w, nonlinearity="linear")))
case("kaiming_uniform_sqrt5", [1024, 1024], "init.kaiming_uniform_(w, a=math.sqrt(5))",
     filled([1024, 1024], lambda w: init.kaiming_uniform_(w, a=math.sqrt(5))),
     low=-kaiming_bound([1024, 1024], math.sqrt(5), "fan_in"), high=kaiming_bound([1024, 1024], math.sqrt(5), "fan_in"))
case("kaiming_uniform_fan_out", [256, 512, 3, 3], "init.kaiming_uniform_(w, a=0, mode='fan_out')",
     filled([256, 512, 3, 3], lambda w: init.kaiming_uniform_(w, a=0, mode="fan_out")),
     low=-kaiming_bound([256, 512, 3, 3], 0, "fan_out"), high=kaiming_bound([256, 512, 3, 3], 0, "fan_out"))
case("xavier_uniform", [1024, 256, 2, 2], "init.xavier_uniform_(w)", filled([1024, 256, 2, 2], init.xavier_uniform_),
     low=-xavier_bound([1024, 256, 2, 2], 1.0), high=xavier_bound([1024, 256, 2, 2], 1.0))
case("xavier_uniform_gain_tanh", [1024, 1024], "init.xavier_uniform_(w, gain=init.calculate_gain('tanh'))",
     filled([1024, 1024], lambda w: init.xavier_uniform_(w, gain=init.calculate_gain("tanh"))),
     low=-xavier_bound([1024, 1024], 5 / 3), high=xavier_bound([1024, 1024], 5 / 3), gain=5 / 3)
# The default weight init of real layers (reset_parameters), checked against kaiming_uniform_(a=sqrt(5)).
linear = nn.Linear(1024, 1024)
case("linear_module_weight", list(linear.weight.shape), "nn.Linear(1024, 1024).weight", linear.weight.detach(),
     low=-kaiming_bound([1024, 1024], math.sqrt(5), "fan_in"), high=kaiming_bound([1024, 1024], math.sqrt(5), "fan_in"))
conv = nn.Conv2d(256, 256, 4)
case("conv_module_weight", list(conv.weight.shape), "nn.Conv2d(256, 256, 4).weight", conv.weight.detach(),
     low=-kaiming_bound([256, 256, 4, 4], math.sqrt(5), "fan_in"), high=kaiming_bound([256, 256, 4, 4], math.sqrt(5), "fan_in"))
# A real layer's bias has too few elements for statistics: draw 2^20 the way reset_parameters does
# for a conv weight of this shape, and check that the real layer's bias keeps to the same bound.
bias_weight = [256, 768, 3, 3]
bound = bias_bound(bias_weight)
conv_b = nn.Conv2d(768, 256, 3)
assert list(conv_b.weight.shape) == bias_weight and conv_b.bias.abs().max().item() <= bound
case("conv_default_bias", [1 << 20], "init.uniform_(b, -1/sqrt(fan_in), 1/sqrt(fan_in)) as nn.Conv2d(768, 256, 3).reset_parameters",
     filled([1 << 20], lambda b: init.uniform_(b, -bound, bound)), low=-bound, high=bound, weight_shape=bias_weight)

records = {}
for name, c in CASES.items():
    w = c["tensor"].double().flatten()
    n = w.numel()
    mean = w.mean().item()
    std = w.std(unbiased=False).item()
    centred = w - mean
    m2 = (centred ** 2).mean().item()
    m4 = (centred ** 4).mean().item()
    fan_in, fan_out = fans(c["shape"])
    r = dict(shape=c["shape"], call=c["call"], count=n, fan_in=fan_in, fan_out=fan_out,
             mean=mean, std=std, min=w.min().item(), max=w.max().item(),
             kurtosis=m4 / (m2 * m2) if m2 > 0 else None,
             within_one_std=(centred.abs() <= std).double().mean().item())
    if c["low"] is not None:
        # the bounds as the float32 tensor holds them (torch narrows them to the dtype)
        r["low"] = torch.tensor(c["low"], dtype=torch.float32).item()
        r["high"] = torch.tensor(c["high"], dtype=torch.float32).item()
        assert r["low"] <= r["min"] and r["max"] <= r["high"], name
    r.update(c["extra"])
    records[name] = r

gains = {"linear": init.calculate_gain("linear"), "relu": init.calculate_gain("relu"),
         "leaky_relu": init.calculate_gain("leaky_relu"), "leaky_relu_0.2": init.calculate_gain("leaky_relu", 0.2),
         "leaky_relu_sqrt5": init.calculate_gain("leaky_relu", math.sqrt(5))}
with open(OUT, "w") as f:
    json.dump({"torch": torch.__version__, "gains": gains, "cases": records}, f, indent=1, sort_keys=True)
    f.write("\n")
print("wrote", OUT, len(records), "cases")
