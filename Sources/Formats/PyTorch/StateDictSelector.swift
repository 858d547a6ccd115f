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
                    throw ToolkitError(.invalidArgument, subject: file, "key '\(key)': '\(walked.joined(separator: "."))' is \(v.kindWithArticle), not a dict")
                }
                walked.append(part)
            }
            guard case .dict = v else { throw ToolkitError(.invalidArgument, subject: file, "key '\(key)' selects \(v.kindWithArticle), not a dict of tensors") }
            return (key, v)
        }
        if isTensorDict(root) { return ("", root) }
        var found: [(String, PickleValue)] = []
        collect(root, path: [], into: &found, depth: 0)
        if found.count == 1 {
            Notices.post("\(file): using the state dict at '\(found[0].0)', the only dict of tensors in the file (--key \(found[0].0) selects it explicitly)")
            return found[0]
        }
        if found.isEmpty {
            throw ToolkitError(.invalidFile, subject: file, "no state dict found: the file holds \(root.kindWithArticle) with no dict of tensors\(topKeys(root))")
        }
        let paths = found.map(\.0), listed = 10
        // The model's own weights sit under `model` in most training checkpoints (beside optimizer state, EMA copies).
        let model = paths.first { $0 == "model" } ?? paths.first { $0.hasSuffix(".model") || $0.hasPrefix("model.") }
        let shown = paths.prefix(listed).joined(separator: ", ") + (paths.count > listed ? ", ... (\(paths.count - listed) more)" : "")
        throw ToolkitError(.invalidArgument, subject: file, "\(found.count) candidate state dicts: \(shown); choose one with --key"
            + (model.map { " (--key \($0) is most likely the model's weights)" } ?? ""))
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
        guard case .dict(let d) = v else { throw ToolkitError(.invalidFile, subject: file, "'\(prefix)' is \(v.kindWithArticle), not a dict of tensors") }
        var out: [(String, TorchTensorRef)] = []
        for (k, val) in zip(d.keys, d.values) {
            let name = prefix.isEmpty ? k.keyString : prefix + "." + k.keyString
            switch val {
            case .tensor(let t): out.append((name, t))
            case .dict: out += try flatten(val, prefix: name, file: file)
            default:
                throw ToolkitError(.invalidFile, subject: file, "entry '\(name)' is \(val.kindWithArticle), not a tensor")
            }
        }
        return out
    }
}
