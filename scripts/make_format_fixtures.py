#!/usr/bin/env python3
"""Writes the small checkpoint fixtures of Tests/FormatsTests/Fixtures with the real libraries
(torch, onnx, numpy, safetensors) plus hand-made hostile files. Run from the repository root:

    python3 scripts/make_format_fixtures.py

Deterministic (fixed seed). The tests never run Python: they read what this script committed.
"""
import io, json, os, shutil, struct, sys, zipfile
import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "FormatsTests", "Fixtures")
OUT = os.path.normpath(OUT)
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


def path(name):
    return os.path.join(OUT, name)


def sam_like():
    """A few tensors named like SAM's, in every dtype the readers support, plus views of one storage."""
    sd = {}
    sd["image_encoder.patch_embed.proj.weight"] = torch.randn(8, 3, 4, 4)
    sd["image_encoder.patch_embed.proj.bias"] = torch.randn(8)
    sd["image_encoder.blocks.0.attn.qkv.weight"] = torch.randn(24, 8)
    sd["image_encoder.blocks.0.attn.rel_pos_h"] = torch.randn(7, 4).half()
    sd["image_encoder.blocks.0.attn.rel_pos_w"] = torch.randn(7, 4).bfloat16()
    sd["prompt_encoder.point_embeddings.0.weight"] = torch.randn(1, 8).double()
    sd["mask_decoder.iou_token.weight"] = torch.randn(1, 8)
    sd["image_encoder.neck.1.num_batches_tracked"] = torch.tensor(12345678901, dtype=torch.int64)
    sd["misc.i32"] = torch.tensor([[-5, 7], [1 << 20, -(1 << 20)]], dtype=torch.int32)
    sd["misc.i16"] = torch.tensor([-300, 300, 7], dtype=torch.int16)
    sd["misc.i8"] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    sd["misc.u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["misc.bool"] = torch.tensor([True, False, True, True])
    sd["misc.empty"] = torch.zeros(0, 3)
    # Views of one storage: the base, a row slice (offset), a transpose and a strided column slice.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd["shared.base"] = base
    sd["shared.rows"] = base[1:3]
    sd["shared.t"] = base.t()
    sd["shared.cols"] = base[:, ::2]
    return sd


def expected(sd):
    """Names, dtypes, shapes and exact values (as repr strings: JSON number parsers may round)."""
    out = {}
    for k, v in sd.items():
        out[k] = {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                  "values": [repr(float(x)) for x in v.contiguous().reshape(-1).double().tolist()]}
    return out


def hand_pickle_zip(name, pkl, storages=None, top="archive"):
    """A zip laid out like torch's, with a hand-written data.pkl."""
    with zipfile.ZipFile(path(name), "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{top}/data.pkl", pkl)
        z.writestr(f"{top}/byteorder", "little")
        for k, b in (storages or {}).items():
            z.writestr(f"{top}/data/{k}", b)
        z.writestr(f"{top}/version", "3\n")


def pstr(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def tensor_pickle(key, numel, offset, size, stride, storage="FloatStorage"):
    """Opcodes of one `_rebuild_tensor_v2` call, as torch.save writes them (protocol 2)."""
    def tup(xs):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"
    return (b"ctorch._utils\n_rebuild_tensor_v2\n(" +
            b"(" + pstr("storage") + b"ctorch\n" + storage.encode() + b"\n" + pstr(key) + pstr("cpu") +
            b"J" + struct.pack("<i", numel) + b"tQ" +
            b"J" + struct.pack("<i", offset) + tup(size) + tup(stride) + b"\x89" +
            b"ccollections\nOrderedDict\n)R" + b"tR")


def legacy_tensor_pickle(key, numel, offset, size, view):
    """Like tensor_pickle, in the legacy format's persistent id with view metadata (key, offset, size)."""
    def tup(xs):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"
    vkey, voff, vsize = view
    return (b"ctorch._utils\n_rebuild_tensor_v2\n(" +
            b"(" + pstr("storage") + b"ctorch\nFloatStorage\n" + pstr(key) + pstr("cpu") +
            b"J" + struct.pack("<i", numel) + b"(" + pstr(vkey) + b"J" + struct.pack("<i", voff) +
            b"J" + struct.pack("<i", vsize) + b"t" + b"tQ" +
            b"J" + struct.pack("<i", offset) + tup(size) + tup([1] * len(size)) + b"\x89" +
            b"ccollections\nOrderedDict\n)R" + b"tR")


def hand_legacy(name, obj, storages):
    """A legacy (pre-1.6) file: magic, protocol, system info, the object, the storage keys, then storages."""
    import pickle
    with open(path(name), "wb") as f:
        f.write(pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2))
        f.write(pickle.dumps(1001, protocol=2))
        f.write(pickle.dumps({"protocol_version": 1001, "little_endian": True,
                              "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2))
        f.write(obj)
        f.write(pickle.dumps(sorted(storages), protocol=2))
        for k in sorted(storages):
            f.write(struct.pack("<q", len(storages[k]) // 4) + storages[k])


def nested_training_checkpoints():
    """Training checkpoints as trainers save them: the weights one level down under another name
    (`{'state': {'ema': sd}}`: the only dict of tensors, chosen automatically), and the model beside optimizer
    state whose per-parameter entries are dicts of tensors too (many candidates, `model` among them).
    Run alone with:  python3 -c 'import make_format_fixtures as m; m.nested_training_checkpoints()'  (from scripts/)."""
    g = torch.Generator().manual_seed(7)
    sd = {"image_encoder.patch_embed.proj.bias": torch.randn(8, generator=g), "mask_decoder.iou_token.weight": torch.randn(1, 8, generator=g)}
    torch.save({"state": {"ema": sd, "step": 10}}, path("nested_ema.pth"))
    optimizer = {"state": {i: {"exp_avg": torch.zeros(8), "exp_avg_sq": torch.zeros(8)} for i in range(14)},
                 "param_groups": [{"lr": 1e-4}]}
    torch.save({"epoch": 3, "optimizer": optimizer, "model": sd}, path("training_many_candidates.pth"))


def main():
    sd = sam_like()
    nested_training_checkpoints()
    torch.save(sd, path("sam_zip.pth"))
    torch.save(sd, path("sam_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"model": sd, "epoch": 3, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}},
               path("sam_nested.pth"))
    small = {k: sd[k] for k in ["mask_decoder.iou_token.weight", "image_encoder.patch_embed.proj.bias"]}
    torch.save({"model": small, "ema": {"model": small}}, path("two_candidates.pth"))
    with open(path("sam_expected.json"), "w") as f:
        json.dump(expected(sd), f, indent=0)

    # A big-endian copy of sam_zip.pth: same pickle, storages byte-swapped, byteorder "big".
    src = zipfile.ZipFile(path("sam_zip.pth"))
    pkl = None
    sizes = {}
    import pickletools
    with zipfile.ZipFile(path("sam_bigendian.pth"), "w", zipfile.ZIP_STORED) as z:
        # storage key -> element size, from the persistent ids
        data = src.read("sam_zip/data.pkl")
        elem = {}
        # Walk the opcodes, tracking memoised globals, to find each storage key's class.
        sizes = {"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8,
                 "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
                 "ByteStorage": 1, "BoolStorage": 1}
        memo, last, pending = {}, None, None
        for op, arg, pos in pickletools.genops(data):
            if op.name == "GLOBAL":
                last = arg
            elif op.name in ("BINGET", "LONG_BINGET"):
                last = memo[arg]
            elif op.name in ("BINPUT", "LONG_BINPUT"):
                memo[arg] = last
                continue
            elif op.name in ("BINUNICODE", "SHORT_BINUNICODE"):
                last = arg
            if pending is not None and op.name in ("BINUNICODE", "SHORT_BINUNICODE", "BINGET", "LONG_BINGET"):
                elem[str(last)] = sizes[pending]
                pending = None
            elif isinstance(last, str) and last.startswith("torch ") and last.endswith("Storage") and op.name in ("GLOBAL", "BINGET", "LONG_BINGET"):
                pending = last.split(" ")[1]
        for info in src.infolist():
            b = src.read(info.filename)
            name = info.filename.replace("sam_zip/", "sam_bigendian/")
            if "/data/" in info.filename and not info.filename.endswith("serialization_id"):
                key = info.filename.split("/")[-1]
                n = elem[key]
                b = b"".join(b[i:i + n][::-1] for i in range(0, len(b), n))
            if info.filename.endswith("/byteorder"):
                b = b"big"
            z.writestr(name, b)

    # numpy
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    np.save(path("a_f32.npy"), a)
    np.save(path("a_f64_fortran.npy"), np.asfortranarray(a.astype(np.float64)))
    np.save(path("a_i16_be.npy"), np.arange(6, dtype=">i2").reshape(2, 3) - 3)
    np.savez(path("arrays.npz"), weight=a, bias=np.array([1, 2, 3], dtype=np.int64), mask=np.array([True, False]))
    np.savez_compressed(path("arrays_compressed.npz"), weight=a)

    # safetensors written by the reference library
    from safetensors.torch import save_file
    save_file({k: v.contiguous().clone() for k, v in sd.items()}, path("sam.safetensors"), metadata={"source": "fixture"})

    make_onnx()
    make_typed_onnx()
    make_hostile(sd)
    total = sum(os.path.getsize(path(f)) for f in os.listdir(OUT))
    print(f"fixtures: {len(os.listdir(OUT))} files, {total} bytes in {OUT}")


class Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(8, 24)
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        return self.qkv(x), self.proj(x)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = Attn()

    def forward(self, x):
        return self.attn(x)


class PatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 4, stride=4)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embed = PatchEmbed()
        self.blocks = nn.ModuleList([Block()])

    def forward(self, x):
        return self.blocks[0](self.patch_embed(x))


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(24, 16), nn.Linear(16, 4)])

    def forward(self, x):
        return self.layers[1](torch.relu(self.layers[0](x)))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.iou_prediction_head = Head()

    def forward(self, x):
        return self.iou_prediction_head(x)


class Tiny(nn.Module):
    """Linear and Conv layers named like SAM's modules."""
    def __init__(self):
        super().__init__()
        self.image_encoder = Encoder()
        self.mask_decoder = Decoder()

    def forward(self, x):
        q, p = self.image_encoder(x)          # B 4 24, B 4 8
        return self.mask_decoder(q), p


def make_onnx():
    import onnx
    m = Tiny().eval()
    x = torch.randn(1, 3, 8, 8)
    sd = m.state_dict()
    with open(path("tiny_expected.json"), "w") as f:
        json.dump(expected(sd), f, indent=0)
    for fold in (True, False):
        name = "tiny_folded.onnx" if fold else "tiny_unfolded.onnx"
        torch.onnx.export(m, (x,), path(name), do_constant_folding=fold, opset_version=17, dynamo=False,
                          input_names=["image"], output_names=["iou", "p"])
    model = onnx.load(path("tiny_folded.onnx"))
    onnx.save_model(model, path("tiny_external.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="tiny_external.onnx.data", size_threshold=0)
    # Hostile: an external-data location that climbs out of the model's folder.
    model = onnx.load(path("tiny_external.onnx"), load_external_data=False)
    for t in model.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = "../secret.bin"
    onnx.save_model(model, path("bad_external_dotdot.onnx"))
    for t in model.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = "/etc/passwd"
    onnx.save_model(model, path("bad_external_absolute.onnx"))


def make_typed_onnx():
    """Weights in the typed TensorProto fields (not raw_data), plus a float Constant node."""
    import onnx
    from onnx import helper, TensorProto
    vals = {
        "w.f32": (TensorProto.FLOAT, [2, 3], [0.5, -1.25, 3.0, 1e-3, -0.0, 7.5], "float32"),
        "w.f16": (TensorProto.FLOAT16, [3], [1.5, -2.0, 0.099975586], "float16"),
        "w.bf16": (TensorProto.BFLOAT16, [2], [1.0, -3.5], "bfloat16"),
        "w.f64": (TensorProto.DOUBLE, [2], [0.1, -1e300], "float64"),
        "w.i64": (TensorProto.INT64, [3], [-5, 0, 1 << 40], "int64"),
        "w.i32": (TensorProto.INT32, [2], [-7, 1 << 30], "int32"),
        "w.u8": (TensorProto.UINT8, [2], [0, 255], "uint8"),
        "w.bool": (TensorProto.BOOL, [3], [1, 0, 1], "bool"),
    }
    inits = [helper.make_tensor(k, t, dims, v, raw=False) for k, (t, dims, v, _) in vals.items()]
    const = helper.make_node("Constant", [], ["const.scale"], name="/scale/Constant",
                             value=helper.make_tensor("v", TensorProto.FLOAT, [2], [2.0, 0.25]))
    ident = helper.make_node("Identity", ["const.scale"], ["out"], name="/Identity")
    graph = helper.make_graph([const, ident], "typed", [], [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2])],
                              initializer=inits)
    onnx.save(helper.make_model(graph), path("typed.onnx"))
    exp = {}
    for k, (t, dims, v, dt) in vals.items():
        tt = torch.tensor(v, dtype=getattr(torch, dt))
        exp[k] = {"dtype": dt, "shape": dims, "values": [repr(float(x)) for x in tt.double().tolist()]}
    exp["const.scale"] = {"dtype": "float32", "shape": [2], "values": ["2.0", "0.25"]}
    with open(path("typed_expected.json"), "w") as f:
        json.dump(exp, f, indent=0)


def make_hostile(sd):
    # Pickles naming dangerous callables: written opcode by opcode, never built from real objects.
    hand_pickle_zip("bad_os_system.pth", b"\x80\x02cos\nsystem\n" + pstr("echo pwned") + b"\x85R.")
    hand_pickle_zip("bad_builtins_eval.pth", b"\x80\x02cbuiltins\neval\n" + pstr("1+1") + b"\x85R.")
    hand_pickle_zip("bad_stack_global.pth", b"\x80\x04" + b"\x8c\x02os\x8c\x06system\x93" + pstr("id") + b"\x85R.")
    # A persistent id naming storage 7, which the archive does not hold.
    storage = struct.pack("<6f", *range(6))
    hand_pickle_zip("bad_missing_storage.pth",
                    b"\x80\x02}(" + pstr("w") + tensor_pickle("7", 6, 0, [2, 3], [3, 1]) + b"u.", {"0": storage})
    # Size/stride past the storage's end (6 floats; the view needs 3*3 = 9).
    hand_pickle_zip("bad_stride.pth",
                    b"\x80\x02}(" + pstr("w") + tensor_pickle("0", 6, 0, [3, 3], [3, 1]) + b"u.", {"0": storage})
    hand_pickle_zip("bad_offset.pth",
                    b"\x80\x02}(" + pstr("w") + tensor_pickle("0", 6, 5, [2], [1]) + b"u.", {"0": storage})
    # A persistent id that claims more elements than the entry holds.
    hand_pickle_zip("bad_numel.pth",
                    b"\x80\x02}(" + pstr("w") + tensor_pickle("0", 600, 0, [2, 3], [3, 1]) + b"u.", {"0": storage})
    # Legacy storage views whose window lies outside the storage they view (negative / past the end).
    for name, view in [("bad_legacy_view_negative.pth", ("0", -100000000, 2)), ("bad_legacy_view_past_end.pth", ("0", 5, 4))]:
        hand_legacy(name, b"\x80\x02}(" + pstr("w") + legacy_tensor_pickle("1", 2, 0, [2], view) + b"u.", {"0": storage})
    # An unknown opcode (INST, protocol 0, instantiates classes).
    hand_pickle_zip("bad_opcode.pth", b"\x80\x02ios\nsystem\n.")
    # Truncated zip, wrong magic.
    with open(path("sam_zip.pth"), "rb") as f:
        b = f.read()
    with open(path("bad_truncated.pth"), "wb") as f:
        f.write(b[: len(b) // 2])
    with open(path("bad_magic.pth"), "wb") as f:
        f.write(b"NOTAZIP!" + bytes(range(256)) * 4)
    # safetensors: header length past the end; overlapping offsets.
    hdr = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    with open(path("bad_header_long.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 10_000) + hdr + b"\0" * 8)
    hdr = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'
    with open(path("bad_overlap.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hdr)) + hdr + b"\0" * 12)


if __name__ == "__main__":
    main()
