import Foundation

/// The checks a manifest must pass beyond decoding: ids, versions, hashes, paths, the base of a delta,
/// the files every package holds, and the known keys of the free-form `protocol` and `metrics` objects.
public enum ManifestSchema {
    /// Files every SAM package lists besides its weights.
    public static let requiredFiles = [PackageLayout.card, PackageLayout.goldenImage, PackageLayout.goldenPrompts,
                                       PackageLayout.goldenOutputs]

    /// Files every package of `family` lists besides its weights.
    public static func requiredFiles(_ family: ModelFamily) -> [String] {
        switch family {
        case .sam: return requiredFiles
        case .ssmSAM: return [PackageLayout.card, PackageLayout.record] + AdaptationGolden.files
        }
    }

    /// Every problem found, as messages (empty when the manifest is valid).
    public static func problems(_ m: Manifest) -> [String] {
        var p: [String] = []
        let schema = m.familyName == nil ? Manifest.currentSchema : Manifest.familySchema
        if m.schema != schema {
            p.append("schema is '\(m.schema)', expected '\(schema)'" + (m.familyName == nil ? "" : " (a manifest that names a family)"))
        }
        if let why = ModelReference.problem(id: m.id) { p.append("id '\(m.id)': \(why)") }
        if SemanticVersion(m.version) == nil { p.append("version '\(m.version)' is not a semantic version (MAJOR.MINOR.PATCH)") }
        switch (m.kind, m.base) {
        case (.base, .some): p.append("kind is 'base' but a base model is named; only deltas have one")
        case (.delta, nil): p.append("kind is 'delta' but no base model is named")
        case (.delta, let b?):
            if let why = ModelReference.problem(id: b.id) { p.append("base.id '\(b.id)': \(why)") }
            if SemanticVersion(b.version) == nil { p.append("base.version '\(b.version)' is not a semantic version") }
            if !isSHA256(b.sha256) { p.append("base.sha256 '\(b.sha256)' is not 64 lowercase hex digits") }
            if b.id == m.id && b.version == m.version { p.append("a delta cannot be its own base") }
        default: break
        }
        if m.license.trimmingCharacters(in: .whitespaces).isEmpty { p.append("license is empty") }
        if m.toolkit.name.isEmpty || m.toolkit.version.isEmpty { p.append("toolkit name and version must not be empty") }
        if ISO8601DateFormatter().date(from: m.created) == nil { p.append("created '\(m.created)' is not an ISO 8601 time (e.g. 2026-11-26T20:00:00Z)") }
        if let s = m.source, !isSHA256(s.sha256) { p.append("source.sha256 '\(s.sha256)' is not 64 lowercase hex digits") }
        p += architectureProblems(m)

        var seen = Set<String>()
        for f in m.files {
            if let why = PackageLayout.pathProblem(f.path) { p.append("files: '\(f.path)': \(why)") }
            if f.path == PackageLayout.manifest { p.append("files: manifest.json cannot list itself") }
            if !seen.insert(f.path).inserted { p.append("files: '\(f.path)' is listed twice") }
            if f.size < 0 { p.append("files: '\(f.path)' has a negative size \(f.size)") }
            if !isSHA256(f.sha256) { p.append("files: '\(f.path)' sha256 '\(f.sha256)' is not 64 lowercase hex digits") }
        }
        p += familyProblems(m)
        for required in [m.weights.path] + requiredFiles(m.family) where !seen.contains(required) {
            p.append("files: '\(required)' is not listed (every package has it)")
        }
        if m.weights.tensors <= 0 || m.weights.parameters <= 0 { p.append("weights: tensors and parameters must be positive") }
        if m.kind == .delta, m.weights.replaces == nil || m.weights.adds == nil {
            p.append("weights: a delta states how many tensors it replaces and adds")
        }
        if let proto = m.protocolSettings { p += protocolProblems(proto) }
        if let metrics = m.metrics { p += metricProblems(metrics) }
        return p
    }

    /// The family's own fields: SSM-SAM is a delta on a SAM base whose architecture is its heads' base, with
    /// bounded head sizes; residual-encoded weights name their initialisation.
    static func familyProblems(_ m: Manifest) -> [String] {
        var p: [String] = []
        switch m.family {
        case .sam:
            if m.ssmSAM != nil { p.append("ssm_sam is given but the family is 'sam'") }
        case .ssmSAM:
            guard let c = m.ssmSAM else { p.append("family 'ssm-sam' needs the heads' configuration in ssm_sam"); break }
            if c.base != m.architecture { p.append("ssm_sam.base differs from architecture (the SAM base's)") }
            if m.kind != .delta { p.append("an SSM-SAM package is a delta on its SAM base; kind is '\(m.kind.rawValue)'") }
            let bounded: [(String, Int, ClosedRange<Int>)] = [
                ("fmad_blocks", c.fmadBlocks, 0...16), ("global_queries", c.globalQueries, 1...1024), ("sampler_layers", c.samplerLayers, 1...32),
                ("sampler_heads", c.samplerHeads, 1...64), ("sampler_mlp", c.samplerMLP, 1...32768), ("head_width", c.headWidth, 1...4096),
                ("positive_points", c.positivePoints, 0...1024), ("negative_points", c.negativePoints, 0...1024)]
            for (name, v, range) in bounded where !range.contains(v) {
                p.append("ssm_sam.\(name) is \(v), expected \(range.lowerBound)...\(range.upperBound)")
            }
            if c.channels % c.samplerHeads != 0 { p.append("ssm_sam.sampler_heads \(c.samplerHeads) does not divide the \(c.channels) channels") }
            if !(c.temperature > 0 && c.temperature.isFinite) { p.append("ssm_sam.temperature is \(c.temperature), expected a positive number") }
        }
        switch (m.weights.encoding, m.weights.initialisation) {
        case (nil, nil): break
        case (ResidualCodec.encoding?, let i?):
            if m.family != .ssmSAM { p.append("weights.encoding '\(ResidualCodec.encoding)' is for SSM-SAM heads only") }
            if !isSHA256(i.sha256) { p.append("weights.initialisation.sha256 '\(i.sha256)' is not 64 lowercase hex digits") }
        case (ResidualCodec.encoding?, nil): p.append("weights.encoding '\(ResidualCodec.encoding)' needs weights.initialisation")
        case (nil, _?): p.append("weights.initialisation is given without weights.encoding")
        case (let e?, _): p.append("weights.encoding '\(e)' is unknown (known: '\(ResidualCodec.encoding)')")
        }
        return p
    }

    static func isSHA256(_ s: String) -> Bool { s.count == 64 && s.allSatisfy { $0.isASCIIDigit || ("a"..."f").contains($0) } }

    /// Sizes must stay within bounds (so a hostile manifest cannot make model construction allocate without
    /// limit), then be what the model can be built from (`SAMConfig.problems`).
    static func architectureProblems(_ m: Manifest) -> [String] {
        let e = m.architecture.encoder, d = m.architecture.decoder
        var p: [String] = []
        let bounded: [(String, Int, ClosedRange<Int>)] = [
            ("encoder.imageSize", e.imageSize, 16...4096), ("encoder.patchSize", e.patchSize, 1...64),
            ("encoder.embedDim", e.embedDim, 1...8192), ("encoder.depth", e.depth, 1...128), ("encoder.heads", e.heads, 1...128),
            ("encoder.mlpDim", e.mlpDim, 1...32768), ("encoder.windowSize", e.windowSize, 1...256),
            ("encoder.outChannels", e.outChannels, 1...4096),
            ("decoder.promptDim", d.promptDim, 1...4096), ("decoder.maskInChannels", d.maskInChannels, 1...1024),
            ("decoder.transformerDepth", d.transformerDepth, 1...64), ("decoder.heads", d.heads, 1...128),
            ("decoder.mlpDim", d.mlpDim, 1...32768), ("decoder.attentionDownsample", d.attentionDownsample, 1...64),
            ("decoder.multimaskOutputs", d.multimaskOutputs, 1...16), ("decoder.iouHeadDepth", d.iouHeadDepth, 1...16),
            ("decoder.iouHeadHidden", d.iouHeadHidden, 1...8192)]
        for (name, v, range) in bounded where !range.contains(v) {
            p.append("architecture.\(name) is \(v), expected \(range.lowerBound)...\(range.upperBound)")
        }
        guard p.isEmpty else { return p }
        return m.architecture.problems.map { "architecture." + $0 }
    }

    /// Known protocol keys (docs/protocol): `setting` (string or 1/2), `shots` (>= 1), `steps` (>= 0),
    /// `chunks` (>= 1), `support` (string), `folds` (array). Other keys are kept unchecked.
    static func protocolProblems(_ v: JSONValue) -> [String] {
        guard case .object(let o) = v else { return ["protocol must be a JSON object, found \(v.text)"] }
        var p: [String] = []
        func integer(_ key: String, atLeast low: Int) {
            guard let x = o[key] else { return }
            guard let n = x.number, n == n.rounded(), n >= Double(low) else {
                p.append("protocol.\(key) is \(x.text), expected an integer >= \(low)"); return
            }
        }
        integer("shots", atLeast: 1); integer("steps", atLeast: 0); integer("chunks", atLeast: 1)
        if let s = o["setting"] {
            switch s { case .string, .number: break; default: p.append("protocol.setting is \(s.text), expected a name or number") }
        }
        if let s = o["support"], case .string = s {} else if let s = o["support"] { p.append("protocol.support is \(s.text), expected a string") }
        if let f = o["folds"], case .array = f {} else if let f = o["folds"] { p.append("protocol.folds is \(f.text), expected an array") }
        return p
    }

    /// Known metric keys: `dice`, `dice_mean`, `dice_std`, `iou`: a number in [0, 1], or an array or an
    /// object (e.g. per organ or per volume) of such numbers. Every metric value must be numeric.
    static func metricProblems(_ v: JSONValue) -> [String] {
        guard case .object(let o) = v else { return ["metrics must be a JSON object, found \(v.text)"] }
        var p: [String] = []
        let unitInterval: Set<String> = ["dice", "dice_mean", "dice_std", "iou"]
        func check(_ key: String, _ x: JSONValue, bounded: Bool) {
            switch x {
            case .number(let n):
                if !n.isFinite || (bounded && !(0...1).contains(n)) { p.append("metrics.\(key) is \(x.text), expected a number in [0, 1]") }
            case .array(let a): for (i, y) in a.enumerated() { check("\(key)[\(i)]", y, bounded: bounded) }
            case .object(let m): for k in m.keys.sorted() { check("\(key).\(k)", m[k]!, bounded: bounded) }
            case .string where !bounded: break  // free text (units, notes) is allowed for unknown keys
            default: p.append("metrics.\(key) is \(x.text), expected numbers")
            }
        }
        for k in o.keys.sorted() { check(k, o[k]!, bounded: unitInterval.contains(k)) }
        return p
    }
}
