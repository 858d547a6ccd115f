#!/usr/bin/env python3
"""First-order MAML++ meta-training of SSM-SAM's heads with the PyTorch twin, on one process or many:
the same algorithm as `ssmsam meta-train` (learned per-layer per-step inner rates, the multi-step loss
schedule, AdamW with a cosine-annealed outer rate, rates clamped to >= 0), on the episodes of a plan the
toolkit wrote, from a model the toolkit wrote, into a run folder the toolkit reads back.

    ssmsam ssm init --base mobile_sam --no-adapters --out M.pth          # or any toolkit model / run as .pth
    ssmsam meta-train --volume V --labels L --test-organ spleen --epochs 4 --plan-out PLAN.json --init M.pth
    torchrun --nproc_per_node=N scripts/twin_meta_train.py --plan PLAN.json --out RUN     # or plain python3
    ssmsam eval --model RUN ...; ssmsam zoo publish RUN --id ... --version ...

The maths is scripts/ssmsam_twin/meta.py's (meta_gradients, multi_step_weights, cosine_lr, outer_step):
one implementation, shared with the parity fixtures. Each meta-batch's tasks are dealt to the processes
(task i to rank i mod N); each process runs its tasks' inner loops and first-order outer gradients, the
gradients of the heads and of the rates are summed over the processes with one all-reduce, and every
process applies the same AdamW step, so the replicas stay identical. Backend: nccl with CUDA, else gloo.

Run folder: model.pth (image_encoder.*, the heads and the rates as lslr.<name> of shape [S]) + model.json
(the twin's flat config) + run.json (MetaTrainCommand's record keys) + state.pth (resume state), each
written by rank 0 atomically (temporary name + rename) after every epoch. --resume continues state.pth and
gives the same numbers as an uninterrupted run. Deterministic: the plan fixes every episode and point.

--float64 runs the whole twin in float64, as a reference for float32 runs (issue 16: how far float32 summation
order moves one outer step): the model's parameters and buffers (the frozen encoder too, so its features), the
rates, the preprocessed inputs and masks (checked against the plan's SHA-256 in float32, then cast), the points,
the multi-step weights, the loss and AdamW's state. The settings stay the toolkit's float32 values, exactly
represented. model.pth and state.pth then hold float64 tensors (scripts/twin_compare.py compares in float64;
the toolkit reads float32 models only) and run.json says "precision": "float64". Without it nothing changes.

Needs: torch, segment-anything, safetensors, numpy, pillow (scripts/stubs on the path for torchvision/timm,
added here), MobileSAM's code for TinyViT (scripts/mobilesam_reference.py fetches it).
"""
import argparse
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "stubs"))  # torchvision / timm stubs: segment_anything imports on the CPU wheel

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from ssmsam_twin import SSMSAM, load_state, read_config, head_state, CheckpointError  # noqa: E402
from ssmsam_twin.config import ConfigError  # noqa: E402
from ssmsam_twin.encoders import tinyvit_encoder, vit_encoder  # noqa: E402
from ssmsam_twin.meta import multi_step_weights, cosine_lr, meta_gradients, outer_optimiser, outer_step  # noqa: E402
from ssmsam_twin.plan import Plan, PlanError, points_tensors, sha256_file  # noqa: E402

STATE_FORMAT = "ssmsam-twin-meta-state"
LSLR = "lslr."


def fail(message):
    print(f"twin_meta_train: {message}", file=sys.stderr)
    sys.exit(1)


def f32(x):
    """A setting as the toolkit holds it (Float)."""
    return float(np.float32(x))


# --- processes ------------------------------------------------------------------------------------------

class World:
    """torch.distributed when started by torchrun (it sets RANK, WORLD_SIZE and MASTER_ADDR), else one plain
    process with no group."""

    def __init__(self):
        self.size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = torch.device(f"cuda:{local}") if torch.cuda.is_available() else torch.device("cpu")
        self.backend = "nccl" if torch.cuda.is_available() else "gloo"
        self.grouped = "RANK" in os.environ and "MASTER_ADDR" in os.environ
        if self.grouped:
            if self.device.type == "cuda":
                torch.cuda.set_device(self.device)
            dist.init_process_group(backend=self.backend)
        else:
            self.backend = "none"

    def all_sum(self, tensors):
        """Sums equally shaped lists of tensors over the processes, in place, with one all-reduce."""
        if not self.grouped or not tensors:
            return
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for t in tensors:
            t.copy_(flat[offset:offset + t.numel()].view_as(t))
            offset += t.numel()

    def barrier(self):
        if self.grouped:
            dist.barrier()

    def close(self):
        if self.grouped:
            dist.destroy_process_group()


# --- files ----------------------------------------------------------------------------------------------

def atomic(path, write):
    """write(temporary path), then rename onto `path`: readers never see a partial file."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_json(obj, path):
    def write(tmp):
        with open(tmp, "w") as f:
            f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    atomic(path, write)


def config_beside(path):
    return os.path.splitext(path)[0] + ".json"


def vit_preset(state):
    width = state["image_encoder.patch_embed.proj.weight"].shape[0]
    presets = {768: "vit_b", 1024: "vit_l", 1280: "vit_h"}
    if width not in presets:
        raise CheckpointError(f"image_encoder.patch_embed.proj.weight: width {width}, expected one of {sorted(presets)} (vit_b/l/h)")
    return presets[width]


def load_model(path):
    """The toolkit's full .pth (image_encoder.* + heads [+ lslr.*]) with the twin's config beside it, loaded
    strictly. Returns (model, {name: rates} or {})."""
    cfg_path = config_beside(path)
    if not os.path.exists(cfg_path):
        raise CheckpointError(f"{path}: no twin config {os.path.basename(cfg_path)} beside it (ssmsam ssm init --out M.pth writes one)")
    config = read_config(cfg_path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 (torch raises many types; the message names the file)
        raise CheckpointError(f"{path}: not a readable PyTorch state dict ({type(e).__name__}: {e})") from e
    rates = {k[len(LSLR):]: v for k, v in state.items() if k.startswith(LSLR)}
    state = {k: v for k, v in state.items() if not k.startswith(LSLR)}
    if not any(k.startswith("image_encoder.") for k in state):
        raise CheckpointError(f"{path}: holds no image_encoder.* tensors; the twin needs a full model (ssmsam ssm init --out M.pth)")
    encoder = tinyvit_encoder() if config.backbone == "tinyvit" else vit_encoder(vit_preset(state), img_size=config.image_size)
    model = SSMSAM(encoder, config)
    load_state(model, state, path)
    return model, rates


def initial_rates(model, stored, steps, alpha, path):
    """The init file's rates when it has them for these steps, else alpha everywhere (as `ssmsam meta-train`)."""
    names = [n for n, _ in model.trainable_parameters()]
    if stored:
        if set(stored) != set(names):
            raise CheckpointError(f"{path}: its lslr.* rates do not name the model's trainable parameters")
        if all(tuple(v.shape) == (steps,) for v in stored.values()):
            return {n: stored[n].detach().float().clone() for n in names}
        print(f"{path}: its rates have {next(iter(stored.values())).shape[0]} steps, the plan {steps}: starting at alpha {alpha}")
    return {n: torch.full((steps,), alpha, dtype=torch.float32) for n in names}


# --- episodes -------------------------------------------------------------------------------------------

class Episodes:
    """The plan's tasks as `loss_at` batches on the cheap path: each slice's frozen encoder features are
    computed once (bit for bit what the full forward computes) and kept."""

    def __init__(self, plan, model, device, dtype=torch.float32):
        self.plan, self.model, self.device, self.dtype = plan, model, device, dtype
        self.features = {}
        self.masks = {}

    def _features(self, v, k):
        key = (v, k)
        if key not in self.features:
            x = self.plan.slice_input(v, k).to(self.device, self.dtype)  # checked in float32, then cast
            self.features[key] = self.model.frozen(x) if self.model.adapter is None else x
        return self.features[key]

    def _mask(self, v, k, organ):
        key = (v, k, organ)
        if key not in self.masks:
            self.masks[key] = self.plan.frame_mask(v, k, organ).to(self.device, self.dtype)
        return self.masks[key]

    def task(self, t):
        """(support_batches, query_batches) of one planned task."""
        v, organ = t["volume"], t["organ"]
        supports = []
        for s in t["supports"]:
            xy, labels = points_tensors(s["points"])
            supports.append((self._features(v, s["slice"]), self._mask(v, s["slice"], organ), xy.to(self.device, self.dtype),
                             labels.to(self.device)))
        support_batches = [(f, f, m, xy, lab, m) for f, m, xy, lab in supports]
        query_batches = []
        for q in t["queries"]:
            f, m, xy, lab = supports[q["support"]]
            query_batches.append((self._features(v, q["slice"]), f, m, xy, lab, self._mask(v, q["slice"], organ)))
        return support_batches, query_batches


# --- training -------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plan", required=True, help="the episode plan (ssmsam meta-train ... --plan-out PLAN.json)")
    ap.add_argument("--init", help="the starting model: a full .pth with the twin's .json beside it (default: the plan's)")
    ap.add_argument("--out", required=True, help="the run folder")
    ap.add_argument("--resume", action="store_true", help="continue OUT/state.pth")
    ap.add_argument("--threads", type=int, default=0, help="torch threads per process (default: cores / processes)")
    ap.add_argument("--float64", action="store_true",
                    help="run everything in float64 (a reference for float32 runs; writes float64 model.pth / state.pth)")
    args = ap.parse_args()

    world = World()
    threads = args.threads or max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", world.size)))
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        run(args, world)
    except (PlanError, CheckpointError, ConfigError) as e:
        fail(str(e))
    finally:
        world.close()


def run(args, world):
    plan = Plan(args.plan)
    c = plan.config
    init_path = args.init or (plan.doc.get("init") or {}).get("path")
    if not init_path:
        raise PlanError(f"{args.plan}: names no initial model: give --init M.pth (ssmsam ssm init --out M.pth)")
    init_rec = plan.doc.get("init") or {}
    if args.init is None and init_rec.get("sha256") and sha256_file(init_path) != init_rec["sha256"]:
        raise PlanError(f"{init_path}: sha256 differs from the plan's init record {init_rec['sha256']}")
    model, stored = load_model(init_path)
    dtype = torch.float64 if args.float64 else torch.float32
    model.to(world.device, dtype).train()  # float64: every floating parameter and buffer, the frozen encoder's too
    torch.manual_seed(int(c["seed"]))

    steps, epochs, batches = int(c["innerSteps"]), int(c["epochs"]), int(c["batchesPerEpoch"])
    learn_rates = not c.get("ratesFrozen", False)
    params = {n: p for n, p in model.trainable_parameters()}
    rates = {n: r.to(world.device, dtype).requires_grad_(learn_rates)
             for n, r in initial_rates(model, stored, steps, f32(c["innerRate"]), init_path).items()}
    betas, eps, wd = (f32(c["beta1"]), f32(c["beta2"])), f32(c["eps"]), f32(c["weightDecay"])
    opt = outer_optimiser(params, rates, f32(c["outerRate"]), betas, eps, wd, learn_rates=learn_rates)
    if len(plan.epochs) != epochs or any(len(e["batches"]) != batches for e in plan.epochs):
        raise PlanError(f"{args.plan}: {len(plan.epochs)} planned epochs for {epochs} configured ({batches} meta-batches each)")

    os.makedirs(args.out, exist_ok=True)
    state_path = os.path.join(args.out, "state.pth")
    history, first = [], 0
    if args.resume:
        first, history = restore(state_path, plan, params, rates, opt, precision(dtype))
        if world.rank == 0:
            print(f"resumed {state_path} after epoch {first}")
    elif os.path.exists(state_path):
        raise PlanError(f"{state_path} exists: pass --resume to continue it, or choose another --out")

    episodes = Episodes(plan, model, world.device, dtype)
    names = list(params)
    if world.rank == 0:
        organs = sorted({t["organ"] for e in plan.epochs for b in e["batches"] for t in b["tasks"]})
        print(f"{world.size} process(es), backend {world.backend}, {torch.get_num_threads()} thread(s) each, {world.device}"
              f"{', float64' if dtype == torch.float64 else ''}; "
              f"{epochs} epochs x {batches} meta-batches of {c['tasksPerBatch']} tasks ({', '.join(organs)}); S = {steps}")
    start = time.time()
    for e in range(first, epochs):
        weights = multi_step_weights(steps, int(c["annealingEpochs"]), e)
        lr = cosine_lr(f32(c["outerRate"]), e, epochs, f32(c["minOuterRate"]))
        # sums over the epoch's tasks (support loss at theta_0, query loss at the last step) and batches (objective)
        stats = torch.zeros(3, dtype=torch.float64)
        tasks_seen = 0
        for b in range(batches):
            planned = plan.batch_tasks(e, b)
            mine = [episodes.task(t) for t in planned[world.rank::world.size]]
            for t in list(params.values()) + list(rates.values()):
                t.grad = None
            res = meta_gradients(model, params, rates, mine, weights.to(world.device, dtype), tasks=len(planned))
            grads = [params[n].grad if params[n].grad is not None else torch.zeros_like(params[n]) for n in names]
            if learn_rates:
                grads += [rates[n].grad if rates[n].grad is not None else torch.zeros_like(rates[n]) for n in names]
            world.all_sum(grads)
            for n, g in zip(names, grads):
                params[n].grad = g
            if learn_rates:
                for n, g in zip(names, grads[len(names):]):
                    rates[n].grad = g
            outer_step(params, rates, lr, betas, eps, wd, optimiser=opt)
            local = torch.tensor([sum(s[0] for s in res["support_loss"]), sum(q[-1] for q in res["query_loss"]),
                                  res["objective"]], dtype=torch.float64)
            world.all_sum([local])
            stats += local
            tasks_seen += len(planned)
        record = dict(epoch=e, learning_rate=lr, weights=[float(w) for w in weights],
                      support_loss=float(stats[0] / tasks_seen), query_loss=float(stats[1] / tasks_seen),
                      outer_loss=float(stats[2] / batches))
        history.append(record)
        if world.rank == 0:
            save_run(args, plan, model, params, rates, opt, history, e + 1, init_path, world, time.time() - start)
            elapsed = time.time() - start
            left = elapsed / (e + 1 - first) * (epochs - e - 1)
            print(f"epoch {e + 1}/{epochs}  support {record['support_loss']:.4f}  query {record['query_loss']:.4f}  "
                  f"outer {record['outer_loss']:.4f}  lr {lr:.3g}  {elapsed:.0f} s, about {left:.0f} s left", flush=True)
        world.barrier()
    if world.rank == 0:
        print(f"wrote {args.out}/model.pth, model.json, state.pth and run.json")


# Why not DistributedDataParallel: DDP all-reduces the gradients of a module's own parameters from hooks that
# fire during `loss.backward()` of one forward per iteration. The meta-learner never runs that way: the inner
# loop evaluates the model at functional parameters theta_s (torch.func.functional_call with tensors that are
# not the module's parameters) and takes S inner gradients per task with torch.autograd.grad, which DDP must not
# all-reduce (they are per task); the learned rates are not module parameters at all; and the processes may hold
# different numbers of tasks. So each process builds its tasks' first-order graph, backpropagates it once, and the
# finished gradients of the heads and the rates are summed explicitly (World.all_sum), one all-reduce per meta-batch.


def precision(dtype):
    return "float64" if dtype == torch.float64 else "float32"


def restore(path, plan, params, rates, opt, want="float32"):
    if not os.path.exists(path):
        raise CheckpointError(f"{path}: no state to resume")
    s = torch.load(path, map_location="cpu", weights_only=False)
    if s.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path}: not a twin meta-training state (format {s.get('format')!r})")
    if s["plan_sha256"] != plan.sha256:
        raise CheckpointError(f"{path}: was written for plan sha256 {s['plan_sha256']}, this plan is {plan.sha256}; resume with the same plan")
    if s["config"] != plan.config:
        raise CheckpointError(f"{path}: was written with other meta-learner settings; resume with the same plan")
    if s.get("precision", "float32") != want:
        raise CheckpointError(f"{path}: was written in {s.get('precision', 'float32')}, this run is {want}; "
                              f"resume with{'out' if want == 'float64' else ''} --float64")
    with torch.no_grad():
        for what, own, saved in (("parameter", params, s["params"]), ("rates", rates, s["rates"])):
            if set(own) != set(saved):
                raise CheckpointError(f"{path}: its {what} names are not the model's")
            for n, t in own.items():
                if tuple(saved[n].shape) != tuple(t.shape):
                    raise CheckpointError(f"{path}: {n} has shape {tuple(saved[n].shape)}, expected {tuple(t.shape)}")
                t.copy_(saved[n])
    opt.load_state_dict(s["optimiser"])
    return s["epoch"], s["history"]


def save_run(args, plan, model, params, rates, opt, history, epoch, init_path, world, wall):
    out = args.out
    state = dict(format=STATE_FORMAT, version=1, plan_sha256=plan.sha256, config=plan.config, epoch=epoch,
                 params={n: p.detach().cpu().clone() for n, p in params.items()},
                 rates={n: r.detach().cpu().clone() for n, r in rates.items()},
                 optimiser=opt.state_dict(), history=history)
    float64 = next(iter(params.values())).dtype == torch.float64
    if float64:  # float32 runs keep their files as they were
        state["precision"] = "float64"
    atomic(os.path.join(out, "state.pth"), lambda tmp: torch.save(state, tmp))
    full = head_state(model, include_encoder=True)
    for n, r in rates.items():
        full[LSLR + n] = r.detach().cpu().contiguous().clone()
    atomic(os.path.join(out, "model.pth"), lambda tmp: torch.save(full, tmp))
    atomic_json(model.config.to_dict(), os.path.join(out, "model.json"))
    d, c = plan.doc, plan.config
    vols = d["volumes"]
    data = dict(volume=vols[0]["image"], labels=vols[0]["labels"]) if len(vols) == 1 else dict(volumes=vols)
    record = {
        "toolkit": f"ssmsam_twin (torch {torch.__version__}); plan by {d.get('toolkit', '?')}",
        "processor": f"{platform.processor() or platform.machine()} x {os.cpu_count()} ({world.size} process(es), {world.backend}, {world.device})",
        "base": d.get("base", "?"), "data": data, "label_map": d["label_map"], "intensity": d["intensity"],
        "test_organ": d["test_organ"], "training_organs": d["training_organs"], "setting": d["setting"],
        "meta_learning": not c.get("ratesFrozen", False), "fmad": model.config.fmad, "fmad_keys": model.config.fmad_keys, "epochs": int(c["epochs"]),
        "inner_steps": int(c["innerSteps"]), "inner_rate_init": f32(c["innerRate"]), "tasks_per_batch": int(c["tasksPerBatch"]),
        "query_shots": int(c["queryShots"]), "chunks": d["chunks"], "seed": int(c["seed"]),
        "checkpoint": "last epoch (model selection never looks at the test organ)",
        "wall_seconds_this_invocation": wall,
        "history": [{k: h[k] for k in ("epoch", "outer_loss", "query_loss", "support_loss", "learning_rate")} for h in history],
        "trainer": "scripts/twin_meta_train.py", "plan": os.path.abspath(args.plan), "plan_sha256": plan.sha256,
        "init": os.path.abspath(init_path), "world_size": world.size, "backend": world.backend,
    }
    if float64:
        record["precision"] = "float64"
    atomic_json(record, os.path.join(out, "run.json"))


if __name__ == "__main__":
    main()
