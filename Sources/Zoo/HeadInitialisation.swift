import Crypto
import Foundation
import Formats
import SSMSAM

/// The seeded initialisation of SSM-SAM's heads (`SSMSAMModel.initializeHeads(seed:)`, which depends on the
/// configuration and the seed only), regenerated on any machine and pinned by a digest of its tensors.
public enum HeadInitialisation {
    /// The initial head tensors (every tensor under `SSMSAMModel.headPrefixes`) for `config` and `seed`.
    public static func tensors(config: SSMSAMConfig, seed: UInt64) throws -> StateDict {
        let model = SSMSAMModel(config: config)
        try model.initializeHeads(seed: seed)
        var out = StateDict()
        for (name, t) in model.stateDict().entries where isHead(name) { out[name] = t }
        return out
    }

    /// Whether `name` is a head tensor.
    public static func isHead(_ name: String) -> Bool { SSMSAMModel.headPrefixes.contains { name.hasPrefix($0 + ".") } }

    /// SHA-256 over the tensors in name order: each name, dtype, shape and bytes.
    public static func digest(_ tensors: StateDict) -> String {
        var h = SHA256()
        for name in tensors.names.sorted() {
            let t = tensors[name]!
            h.update(data: Data("\(name)\u{0}\(t.dtype)\u{0}\(t.shape)\u{0}".utf8))
            h.update(data: t.bytes)
        }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
