import ArgumentParser
import Foundation

/// `--model` of the few-shot commands: one SSM-SAM model for every organ, or `organ=MODEL,...` (each organ's
/// meta-initialisation is trained without it). A model is a file (`.safetensors`, `.pth` with its `.json`), a
/// `meta-train` run folder (its `model.safetensors`) or `zoo:ID[@VERSION]` (an installed SSM-SAM package).
struct ModelMapping {
    private let single: String?
    private let perOrgan: [String: String]

    init(_ text: String, organs: [String]) throws {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count == 1 && !parts[0].contains("=") {
            (single, perOrgan) = (parts[0], [:])
            return
        }
        var map: [String: String] = [:]
        for p in parts {
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, !kv[0].isEmpty, !kv[1].isEmpty else {
                throw ValidationError("--model \(text): expected MODEL or organ=MODEL,organ=MODEL,...")
            }
            map[kv[0].lowercased().replacingOccurrences(of: " ", with: "_")] = kv[1]
        }
        let missing = organs.filter { map[$0] == nil }
        guard missing.isEmpty else { throw ValidationError("--model names no model for \(missing.joined(separator: ", "))") }
        (single, perOrgan) = (nil, map)
    }

    /// The model for `organ`, as given (a path or `zoo:ID[@VERSION]`).
    func model(for organ: String) -> String { single ?? perOrgan[organ]! }

    /// A model path as given, or a run folder's `model.safetensors` (a twin run's `model.pth` when it has none).
    static func file(_ path: String) -> URL {
        let url = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            let pth = url.appendingPathComponent("model.pth"), st = url.appendingPathComponent("model.safetensors")
            return !FileManager.default.fileExists(atPath: st.path) && FileManager.default.fileExists(atPath: pth.path) ? pth : st
        }
        return url
    }
}
