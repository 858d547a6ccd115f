import Diagnostics
import Foundation

/// Reads PyTorch checkpoints in the zip format (`torch.save` since 1.6).
public enum TorchZipReader {
    /// Reads the state dict in `url`; `key` is a dot path to a nested dict (see `StateDictSelector`).
    public static func read(_ url: URL, key: String? = nil) throws -> StateDict {
        try read(ZipArchive.read(url), key: key)
    }

    /// Reads from bytes (`file` names the source in errors).
    public static func parse(_ data: Data, file: String, key: String? = nil) throws -> StateDict {
        try read(ZipArchive.parse(data, file: file), key: key)
    }

    static func read(_ zip: ZipArchive, key: String?) throws -> StateDict {
        let file = zip.file
        guard let first = zip.names.first else { throw ToolkitError(.invalidFile, subject: file, "empty zip archive: not a PyTorch checkpoint") }
        // All entries share one top folder whose name varies (the archive's stem): take the first entry's.
        guard let slash = first.firstIndex(of: "/") else {
            throw ToolkitError(.invalidFile, subject: file, "zip entry '\(first)' has no top folder: not a PyTorch checkpoint")
        }
        let top = String(first[..<slash])
        guard let pkl = zip[top + "/data.pkl"] else {
            throw ToolkitError(.invalidFile, subject: file, "no \(top)/data.pkl in the archive: not a PyTorch checkpoint")
        }
        var bigEndian = false
        if let bo = zip[top + "/byteorder"] {
            let s = String(decoding: bo, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard s == "little" || s == "big" else { throw ToolkitError(.invalidFile, subject: file, "byteorder is '\(s)', expected little or big") }
            bigEndian = s == "big"
        }
        let root = try Unpickler.load(pkl, file: file)
        var storages: [String: Data] = [:]
        let prefix = top + "/data/"
        for name in zip.names where name.hasPrefix(prefix) { storages[String(name.dropFirst(prefix.count))] = zip[name] }
        return try TorchObject.stateDict(root, key: key, storages: storages, bigEndian: bigEndian, file: file)
    }
}

/// What the zip and legacy readers share: select the state dict and materialise its tensors.
enum TorchObject {
    static func stateDict(_ root: PickleValue, key: String?, storages: [String: Data], bigEndian: Bool, file: String) throws -> StateDict {
        let (path, selected) = try StateDictSelector.select(root, key: key, file: file)
        let refs = try StateDictSelector.flatten(selected, file: file)
        let m = TensorMaterializer(file: file, storages: storages, bigEndian: bigEndian)
        var dict = StateDict()
        for (name, ref) in refs {
            let shown = path.isEmpty ? name : path + "." + name
            dict[name] = try m.tensor(ref, name: shown)
        }
        return dict
    }
}
