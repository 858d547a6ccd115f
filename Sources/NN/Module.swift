import TensorCore

/// A layer or a model whose tensors form a named tree, like `torch.nn.Module`.
///
/// A module's direct entries are its stored properties of type `Variable` (parameters), `Buffer`
/// (tensors that are saved but never trained), `Module`, optionals of these, and arrays of them
/// (`blocks.0`, `blocks.1`, ...). They are found by reflection, so a layer never lists its tensors by hand.
/// Each entry's checkpoint key is the snake_case form of the property name (`relPosH` -> `rel_pos_h`)
/// unless `checkpointKeys` renames it; a rename may contain dots (`patchEmbed` -> `patch_embed.proj`), and
/// renaming to `""` keeps a property out of the tree. Dotted names from the root are the checkpoint names.
public protocol Module {
    /// Property name -> checkpoint key, for entries whose key is not the snake_case property name.
    static var checkpointKeys: [String: String] { get }
    /// Key prefixes (relative to this module) that checkpoints carry but this module never reads, e.g. a
    /// classification head; loading ignores them instead of reporting them unexpected.
    var unusedCheckpointPrefixes: [String] { get }
    /// The direct entries in checkpoint order. The default reflects over stored properties; override only
    /// for a layout reflection cannot express.
    var entries: [ModuleEntry] { get }
    /// How the parameter or buffer under `key` (a direct entry) is initialised when no checkpoint provides it, as
    /// the PyTorch layer's `reset_parameters` does; nil when the layer defines none.
    func initializer(forKey key: String, shape: [Int]) -> Initializer?
}

/// One direct entry of a module.
public struct ModuleEntry {
    public enum Item {
        case parameter(Variable)
        case buffer(Buffer)
        case module(any Module)
    }
    /// Checkpoint key relative to the parent (may contain dots).
    public let key: String
    public let item: Item
    public init(_ key: String, _ item: Item) { (self.key, self.item) = (key, item) }
}

extension Module {
    public static var checkpointKeys: [String: String] { [:] }
    public var unusedCheckpointPrefixes: [String] { [] }
    public var entries: [ModuleEntry] { reflectedEntries() }
    public func initializer(forKey key: String, shape: [Int]) -> Initializer? { nil }

    /// The entries found by reflection over this value's stored properties (see `Module`).
    public func reflectedEntries() -> [ModuleEntry] {
        var out: [ModuleEntry] = []
        for child in Mirror(reflecting: self).children {
            guard let label = child.label else { continue }
            let key = Self.checkpointKeys[label] ?? snakeCase(label)
            if key.isEmpty { continue }
            out += ModuleEntry.items(key, child.value)
        }
        return out
    }
}

extension ModuleEntry {
    /// The entries a property value contributes: none for values that are not tensors or modules.
    static func items(_ key: String, _ value: Any) -> [ModuleEntry] {
        switch value {
        case let v as Variable: return [ModuleEntry(key, .parameter(v))]
        case let b as Buffer: return [ModuleEntry(key, .buffer(b))]
        case let m as any Module: return [ModuleEntry(key, .module(m))]
        case let list as [Variable]: return list.enumerated().map { ModuleEntry("\(key).\($0.offset)", .parameter($0.element)) }
        case let list as [any Module]: return list.enumerated().map { ModuleEntry("\(key).\($0.offset)", .module($0.element)) }
        default: return []
        }
    }
}

/// `relPosH` -> `rel_pos_h`; digits stay attached (`lin1`, `norm2`).
func snakeCase(_ name: String) -> String {
    var out = ""
    for ch in name {
        if ch.isUppercase { if !out.isEmpty { out.append("_") }; out += ch.lowercased() } else { out.append(ch) }
    }
    return out
}

/// A tensor that belongs to a module and its checkpoint but is never trained, like a PyTorch buffer
/// (BatchNorm running statistics, the prompt encoder's Gaussian matrix).
public final class Buffer {
    /// The current value; replaced by loading.
    public var value: Tensor
    /// The dotted checkpoint name, set when the module is loaded.
    public var name: String
    public init(_ value: Tensor, name: String = "") { (self.value, self.name) = (value, name) }
}
