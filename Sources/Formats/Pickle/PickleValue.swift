import Foundation
import TensorCore

/// A value built by the restricted unpickler. Lists, dicts and objects are reference boxes because the
/// pickle memo shares them: an APPEND or SETITEM through one reference is seen through all.
public indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits: little-endian two's-complement bytes, as LONG1/LONG4 carry it.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A reference to an allowed global that was not (yet) called.
    case global(PickleGlobal)
    /// An opaque instance of an allowed class (e.g. `argparse.Namespace`), kept with its state.
    case object(PickleObject)
    /// A storage named by a persistent id.
    case storage(TorchStorageRef)
    /// A tensor view from `_rebuild_tensor_v2`, not yet materialised.
    case tensor(TorchTensorRef)

    /// A short description for error messages.
    /// `kind` with its article, for messages: "an int", "a dict", "None".
    public var kindWithArticle: String {
        if case .none = self { return kind }
        return ("aeiou".contains(kind.first ?? "x") ? "an " : "a ") + kind
    }

    public var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let g): return "global \(g.module).\(g.name)"
        case .object(let o): return "\(o.global.module).\(o.global.name) instance"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }

    /// The integer value, if this is an int or a bool.
    var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// The elements of a tuple or list.
    var sequence: [PickleValue]? {
        switch self {
        case .tuple(let t): return t
        case .list(let l): return l.items
        default: return nil
        }
    }

    /// A key rendered for paths and messages.
    var keyString: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "True" : "False"
        case .none: return "None"
        default: return "<\(kind)>"
        }
    }
}

/// A mutable list shared through the memo.
public final class PickleList {
    public var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// A mutable dict shared through the memo, in insertion order (keys compared by their rendering).
public final class PickleDict {
    public private(set) var keys: [PickleValue] = []
    public private(set) var values: [PickleValue] = []
    private var index: [String: Int] = [:]
    init() {}

    /// Sets `key` to `value`, keeping the first insertion's position.
    func set(_ key: PickleValue, _ value: PickleValue) {
        let k = key.keyString
        if let i = index[k] { values[i] = value } else {
            index[k] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    /// The value under a key rendered as `key`.
    public subscript(key: String) -> PickleValue? { index[key].map { values[$0] } }

    /// Number of items.
    public var count: Int { keys.count }

    /// Drops every item (used to take apart a failed load without deep recursive releases).
    func removeAll() { keys = []; values = []; index = [:] }
}

/// A `module.name` global on the allow-list.
public struct PickleGlobal: Equatable {
    public let module: String
    public let name: String
}

/// An instance of an allowed opaque class, with its constructor arguments and BUILD state.
public final class PickleObject {
    public let global: PickleGlobal
    public internal(set) var args: [PickleValue]
    public var state: PickleValue = .none
    init(_ global: PickleGlobal, args: [PickleValue]) { (self.global, self.args) = (global, args) }
}

/// A storage referenced by a persistent id `('storage', StorageClass, key, location, numel[, view])`.
public struct TorchStorageRef {
    /// The name of the storage's data (`data/<key>` in the zip format).
    public let key: String
    public let dtype: DType
    /// Number of elements the persistent id claims.
    public let numel: Int
    /// Legacy view of another storage: (root key, element offset, element count).
    public let view: (key: String, offset: Int, count: Int)?
}

/// A strided view of a storage, as `_rebuild_tensor_v2` describes it (offset and strides in elements).
public struct TorchTensorRef {
    public let storage: TorchStorageRef
    public let offset: Int
    public let size: [Int]
    public let stride: [Int]
}
