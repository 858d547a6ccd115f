import Diagnostics
import Foundation

/// Finds the state dict inside an unpickled checkpoint object: by a dot path (`--key model.ema`),
/// or automatically when exactly one dict of tensors exists.
enum StateDictSelector {
    /// Returns (path, dict) of the selected dict of tensors; nested dicts of tensors are flattened
    /// later with dotted names.
    static func select(_ root: PickleValue, key: String?, file: String) throws -> (path: String, value: PickleValue) {
        if let key, !key.isEmpty {
            var v = root, walked: [String] = []
            for part in key.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
                switch v {
                case .dict(let d):
                    guard let next = d[part] else {
                        let at = walked.isEmpty ? "the top level" : "'\(walked.joined(separator: "."))'"
                        throw ToolkitError(.invalidArgument, subject: file, "key '\(key)': no '\(part)' in \(at); keys there: \(d.keys.prefix(20).map(\.keyString).joined(separator: ", "))")
                    }
                    v = next
                case .list(let l) where Int(part).map({ $0 >= 0 && $0 < l.items.count }) == true:
                    v = l.items[Int(part)!]
                case .tuple(let t) where Int(part).map({ $0 >= 0 && $0 < t.count }) == true:
                    v = t[Int(part)!]
                default:
                    throw ToolkitError(.invalidArgument, subject: file, "key '\(key)': '\(walked.joined(separator: "."))' is a \(v.kind), not a dict")
                }
                walked.append(part)
            }
            guard case .dict = v else { throw ToolkitError(.invalidArgument, subject: file, "key '\(key)' selects a \(v.kind), not a dict of tensors") }
            return (key, v)
        }
        if isTensorDict(root) { return ("", root) }
        var found: [(String, PickleValue)] = []
        collect(root, path: [], into: &found, depth: 0)
        if found.count == 1 { return found[0] }
        if found.isEmpty {
            throw ToolkitError(.invalidFile, subject: file, "no state dict found: the file holds a \(root.kind) with no dict of tensors\(topKeys(root))")
        }
        throw ToolkitError(.invalidArgument, subject: file, "\(found.count) candidate state dicts: \(found.map { $0.0 }.joined(separator: ", ")); choose one with --key")
    }

    /// A non-empty dict whose values are all tensors. (Auto-detection only takes flat dicts, so that
    /// `{"model": sd, "ema": {"model": sd}}` is reported as ambiguous rather than merged.)
    static func isTensorDict(_ v: PickleValue) -> Bool {
        guard case .dict(let d) = v, d.count > 0 else { return false }
        return d.values.allSatisfy { if case .tensor = $0 { return true } else { return false } }
    }

    private static func collect(_ v: PickleValue, path: [String], into found: inout [(String, PickleValue)], depth: Int) {
        guard depth < 32 else { return }
        if !path.isEmpty, isTensorDict(v) { found.append((path.joined(separator: "."), v)); return }
        switch v {
        case .dict(let d):
            for (k, val) in zip(d.keys, d.values) { collect(val, path: path + [k.keyString], into: &found, depth: depth + 1) }
        case .object(let o):
            if case .dict = o.state { collect(o.state, path: path, into: &found, depth: depth + 1) }
        default: break
        }
    }

    private static func topKeys(_ v: PickleValue) -> String {
        guard case .dict(let d) = v else { return "" }
        return " (top-level keys: \(d.keys.prefix(20).map(\.keyString).joined(separator: ", ")))"
    }

    /// Flattens a dict of tensors (nested dicts get dotted names) into (name, tensor ref) pairs.
    static func flatten(_ v: PickleValue, prefix: String = "", file: String) throws -> [(String, TorchTensorRef)] {
        guard case .dict(let d) = v else { throw ToolkitError(.invalidFile, subject: file, "'\(prefix)' is a \(v.kind), not a dict of tensors") }
        var out: [(String, TorchTensorRef)] = []
        for (k, val) in zip(d.keys, d.values) {
            let name = prefix.isEmpty ? k.keyString : prefix + "." + k.keyString
            switch val {
            case .tensor(let t): out.append((name, t))
            case .dict: out += try flatten(val, prefix: name, file: file)
            default:
                throw ToolkitError(.invalidFile, subject: file, "entry '\(name)' is a \(val.kind), not a tensor")
            }
        }
        return out
    }
}
