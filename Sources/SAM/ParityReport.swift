import Diagnostics
import Foundation
import TensorCore

/// The result of checking the toolkit against a reference bundle: every compared stage in pipeline order
/// and the first that failed, which is where the two implementations part (each stage is computed from the
/// toolkit's own earlier stages, as a deployment would run, so later failures may only follow from it).
public struct ParityReport: Codable, Sendable {
    public let bundle: String
    public let kind: ParityBundle.Kind
    /// The toolkit's model as given, and the sha256 of the file the reference ran.
    public let model: String
    public let referenceModelSHA256: String
    public let tolerance: Float
    public let minIoU: Float?
    public let stages: [StageComparison]
    public let passed: Bool
    /// The first stage that failed, nil when all passed.
    public let firstFailure: String?

    /// Compares the toolkit's `outputs` (stage name to tensor) with the bundle's references, stage by stage in
    /// the manifest's order, keeping the stages `only` selects (names or dotted prefixes: `encoder` selects
    /// `encoder.block.2` and `encoder.embedding`; empty keeps all). Throws when the selection matches no stage
    /// or the toolkit computed no output for a selected stage.
    public init(bundle: ParityBundle, model: String, outputs: [String: Tensor], only: [String] = [], tolerance: Float,
                minIoU: Float? = nil) throws {
        let selected = try Self.select(bundle, only)
        var rows: [StageComparison] = []
        for stage in selected {
            guard let actual = outputs[stage.name], let reference = bundle.reference(stage.name) else {
                throw ToolkitError(.unsupported, subject: bundle.directory.path, "the toolkit computed no output for stage \(stage.name)")
            }
            rows.append(.compare(stage: stage.name, actual: actual, reference: reference, mask: stage.mask, tolerance: tolerance, minIoU: minIoU))
        }
        (self.bundle, kind, self.model, referenceModelSHA256) = (bundle.directory.path, bundle.manifest.kind, model, bundle.manifest.model.sha256)
        (self.tolerance, self.minIoU, stages) = (tolerance, minIoU, rows)
        firstFailure = rows.first { !$0.passed }?.stage
        passed = firstFailure == nil
    }

    /// The manifest's stages that `only` selects, in pipeline order.
    public static func select(_ bundle: ParityBundle, _ only: [String]) throws -> [ParityBundle.Stage] {
        let all = bundle.manifest.stages
        if only.isEmpty { return all }
        for s in only where !all.contains(where: { $0.name == s || $0.name.hasPrefix(s + ".") }) {
            throw ToolkitError(.invalidArgument, subject: bundle.directory.path,
                               "--stages \(s) matches no recorded stage (recorded: \(all.map(\.name).joined(separator: ", ")))")
        }
        return all.filter { st in only.contains { st.name == $0 || st.name.hasPrefix($0 + ".") } }
    }

    /// The table the command prints: stage, shape, max abs, max rel, mask IoU, pass / FAIL, and a last line
    /// naming the first failing stage.
    public var table: String {
        let width = max(24, (stages.map(\.stage.count).max() ?? 0) + 2)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        func number(_ v: Float?) -> String { v.map { String(format: "%.3e", $0) } ?? "-" }
        var lines = [pad("stage", width) + pad("shape", 22) + pad("max abs", 11) + pad("max rel", 11) + pad("mask IoU", 10) + "result"]
        for r in stages {
            let shape = r.shape.map(String.init).joined(separator: "x")
            var line = pad(r.stage, width) + pad(shape, 22) + pad(number(r.maxAbs), 11) + pad(number(r.maxRel), 11)
                + pad(r.maskIoU.map { String(format: "%.4f", $0) } ?? "-", 10) + (r.passed ? "pass" : "FAIL")
            if let d = r.detail { line += "  (\(d))" }
            lines.append(line)
        }
        let limit = String(format: "max rel <= %g", tolerance) + (minIoU.map { String(format: ", mask IoU >= %g", $0) } ?? "")
        if let first = firstFailure {
            let failed = stages.filter { !$0.passed }.count
            lines.append("FAIL: \(failed) of \(stages.count) stages outside \(limit); first failing stage: \(first)")
        } else {
            lines.append("PASS: \(stages.count) stages within \(limit)")
        }
        return lines.joined(separator: "\n")
    }

    /// The report as JSON (sorted keys): what `ssmsam parity --json` prints. Absent numbers are absent keys
    /// (`maskIoU` outside mask stages; `maxAbs` and `maxRel` when a `detail` says why there are none).
    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }
}
