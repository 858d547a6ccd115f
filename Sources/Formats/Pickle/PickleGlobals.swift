import Diagnostics
import TensorCore

/// The allow-list of globals a checkpoint's pickle may name, and what "calling" each one means.
/// Nothing is ever executed: each allowed callable is interpreted by a fixed rule here.
enum PickleGlobals {
    /// Storage classes, named by a persistent id, and the dtype each one holds.
    static let storageDTypes: [String: DType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]

    /// Callables (besides storage classes) that may appear.
    static let callables: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch.Size", "builtins.set", "builtins.frozenset", "argparse.Namespace",
        "__builtin__.set", "torch._utils._rebuild_parameter_with_state",
    ]

    /// Resolves a GLOBAL / STACK_GLOBAL, refusing anything not on the allow-list.
    static func resolve(module: String, name: String, file: String) throws -> PickleGlobal {
        let full = "\(module).\(name)"
        if module == "torch", storageDTypes[name] != nil { return PickleGlobal(module: module, name: name) }
        guard callables.contains(full) else {
            throw ToolkitError(.unsupported, subject: file, "pickle references \(full), which is not on the allow-list of checkpoint globals (refused; nothing was executed)")
        }
        return PickleGlobal(module: module, name: name)
    }

    /// Applies an allowed callable to its arguments (REDUCE / NEWOBJ).
    static func call(_ g: PickleGlobal, _ args: [PickleValue], file: String) throws -> PickleValue {
        let full = "\(g.module).\(g.name)"
        switch full {
        case "collections.OrderedDict":
            let d = PickleDict()
            // OrderedDict(iterable_of_pairs) is legal, though torch writes OrderedDict() and SETITEMS.
            if let first = args.first, let pairs = first.sequence {
                for p in pairs {
                    guard let kv = p.sequence, kv.count == 2 else { throw ToolkitError(.invalidFile, subject: file, "OrderedDict argument is not a list of pairs") }
                    d.set(kv[0], kv[1])
                }
            }
            return .dict(d)
        case "torch._utils._rebuild_tensor_v2":
            return try rebuildTensor(args, file: file)
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let data = args.first, case .tensor = data else {
                throw ToolkitError(.invalidFile, subject: file, "_rebuild_parameter expects a tensor, found \(args.first?.kind ?? "nothing")")
            }
            return data
        case "torch.Size":
            return .tuple(args.first?.sequence ?? [])
        case "builtins.set", "builtins.frozenset", "__builtin__.set":
            return .list(PickleList(args.first?.sequence ?? []))
        default:
            if g.module == "torch", storageDTypes[g.name] != nil {
                throw ToolkitError(.invalidFile, subject: file, "pickle calls storage class torch.\(g.name) directly (only persistent ids may name storages)")
            }
            return .object(PickleObject(g, args: args))
        }
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    static func rebuildTensor(_ args: [PickleValue], file: String) throws -> PickleValue {
        guard args.count >= 4 else { throw ToolkitError(.invalidFile, subject: file, "_rebuild_tensor_v2 with \(args.count) arguments, expected at least 4") }
        guard case .storage(let s) = args[0] else {
            throw ToolkitError(.invalidFile, subject: file, "_rebuild_tensor_v2: first argument is \(args[0].kindWithArticle), expected a storage")
        }
        guard let offset = args[1].intValue, let sizeV = args[2].sequence, let strideV = args[3].sequence else {
            throw ToolkitError(.invalidFile, subject: file, "_rebuild_tensor_v2: offset, size and stride must be an int and two tuples")
        }
        let size = try sizeV.map { v -> Int in
            guard let i = v.intValue else { throw ToolkitError(.invalidFile, subject: file, "_rebuild_tensor_v2: size holds \(v.kindWithArticle)") }
            return i
        }
        let stride = try strideV.map { v -> Int in
            guard let i = v.intValue else { throw ToolkitError(.invalidFile, subject: file, "_rebuild_tensor_v2: stride holds \(v.kindWithArticle)") }
            return i
        }
        return .tensor(TorchTensorRef(storage: s, offset: offset, size: size, stride: stride))
    }

    /// Turns a persistent id `('storage', StorageClass, key, location, numel[, view_metadata])` into a storage.
    static func persistentLoad(_ pid: PickleValue, file: String) throws -> PickleValue {
        guard let t = pid.sequence, t.count >= 5, case .string("storage") = t[0] else {
            throw ToolkitError(.invalidFile, subject: file, "persistent id is not ('storage', class, key, location, numel): \(pid.kind)")
        }
        guard case .global(let g) = t[1], g.module == "torch", let dtype = storageDTypes[g.name] else {
            throw ToolkitError(.invalidFile, subject: file, "persistent id names \(t[1].kind), not a torch storage class")
        }
        guard case .string(let key) = t[2] else { throw ToolkitError(.invalidFile, subject: file, "persistent id key is \(t[2].kindWithArticle), expected str") }
        guard let numel = t[4].intValue, numel >= 0 else { throw ToolkitError(.invalidFile, subject: file, "storage \(key): element count is not a non-negative int") }
        var view: (String, Int, Int)? = nil
        if t.count >= 6, let v = t[5].sequence {
            guard v.count == 3, case .string(let root) = v[0], let off = v[1].intValue, let n = v[2].intValue else {
                throw ToolkitError(.invalidFile, subject: file, "storage \(key): view metadata is not (key, offset, size)")
            }
            view = (root, off, n)
        }
        return .storage(TorchStorageRef(key: key, dtype: dtype, numel: numel, view: view))
    }
}
