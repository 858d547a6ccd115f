import ArgumentParser
import Diagnostics
import FewShot
import FileIO
import Foundation
import Imaging
import MedicalData
import Zoo

/// `ssmsam zoo publish RUN`: a meta-train run (or an SSM-SAM model file) as an SSM-SAM package on its SAM base.
struct ZooPublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish", abstract: "Publish a meta-train run as an SSM-SAM zoo package (heads + learned rates as a delta on the SAM base).",
        discussion: """
            The golden support and query are the test organ's centre slice and a slice a quarter of its range away, \
            from the run's volume (or --support/--support-mask/--query PNGs); the golden outputs are the query's \
            logits before and after the 1-shot adaptation, computed from the weights as stored. --evaluation takes \
            the record.json of `ssmsam eval --model zoo:ID@VERSION` of this very package (same weights sha256): its \
            Dice become the package's metrics. Installs into the registry unless --out is given.

            Examples:
              ssmsam zoo publish RUN --id ssmsam/my-liver --version 1.0.0
              ssmsam zoo publish RUN --id ssmsam/my-liver --version 1.0.1 --evaluation EVAL/record.json --key publisher.key
            """)

    @Argument(help: "A meta-train run folder (its model.safetensors and run.json), or an SSM-SAM model file.") var source: String
    @Option(help: "Package id (e.g. ssmsam/mobile-liver).") var id: String
    @Option(help: "Semantic version.") var version: String
    @Option(help: "The installed SAM base package the run was trained on.") var base = "sam/mobile_sam@1.0.0"
    @Option(help: "The run record (default: RUN/run.json).") var record: String?
    @Option(help: "An eval record.json of this very package, for the metrics.") var evaluation: String?
    @Option(help: "Weight storage: f32 (as trained), f16, or q4 (4-bit residuals on the seeded initialisation; for size budgets).") var weights = "f32"
    @Option(help: "License (SPDX id).") var license = "other"
    @Option(help: "Free text for the card.") var description: String?
    @Option(help: "The organ (default: the run's test organ).") var organ: String?
    @Option(help: "Imaging modality.") var modality = "CT"
    @Option(help: "Dataset name for the card.") var dataset: String?
    @Option(help: "Golden support image (PNG); default: from the run's volume.") var support: String?
    @Option(help: "Its mask (PNG, pixels > 127 inside).") var supportMask: String?
    @Option(help: "Golden query image (PNG).") var query: String?
    @Option(help: "Inner steps of a fine-tuned golden adaptation (models without learned rates).") var steps = 5
    @Option(help: "A signing key (zoo keygen): the manifest is signed.") var key: String?
    @Option(help: "Write the package folder here instead of installing it.") var out: String?
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            let registry = registryOptions.open()
            let runURL = URL(fileURLWithPath: source)
            let modelURL = ModelMapping.file(source)
            var isDir: ObjCBool = false
            let isRun = FileManager.default.fileExists(atPath: runURL.path, isDirectory: &isDir) && isDir.boolValue
            let recordURL = record.map { URL(fileURLWithPath: $0) } ?? (isRun ? runURL.appendingPathComponent("run.json") : nil)
            let training = try recordURL.map { try jsonFile($0, option: "--record") }
            let trainingObject: [String: JSONValue] = { if case .object(let o)? = training { return o } else { return [:] } }()
            let organName = organ ?? trainingObject["test_organ"].flatMap { if case .string(let s) = $0 { return s } else { return nil } }
            let basePackage = try registry.package(try ModelReference(parsing: base))

            let (supportImage, mask, queryImage, source) = try goldenSlices(training: trainingObject, organ: organName)
            let (_, rates) = try MetaModelFile.load(modelURL)
            let golden = rates.map { AdaptationGolden(method: .learnedRates, steps: $0.steps, source: source) }
                ?? AdaptationGolden(method: .fineTune, steps: steps, learningRate: 1e-3, source: source)
            var r = PublishRequest(model: modelURL, base: basePackage, id: id, version: version, support: supportImage, supportMask: mask,
                                   query: queryImage, golden: golden)
            (r.license, r.description, r.organ, r.modality, r.dataset) = (license, description, organName, modality, dataset)
            r.training = training
            r.evaluation = try evaluation.map { try jsonFile(URL(fileURLWithPath: $0), option: "--evaluation") }
            switch weights {
            case "f32": r.encoding = .f32
            case "f16": r.encoding = .f16
            case "q4":
                guard case .number(let seed)? = trainingObject["seed"] else {
                    throw ValidationError("--weights q4 needs the run's seed (run.json 'seed'): the residuals are stored on the heads' initialisation from it")
                }
                r.encoding = .q4Residual(seed: UInt64(seed))
            default: throw ValidationError("--weights \(weights): expected f32, f16 or q4")
            }

            print("publishing \(modelURL.path) as \(id)@\(version) on \(basePackage.manifest.reference) (golden adaptation: \(golden.method.rawValue), \(golden.steps) steps)")
            var m: Manifest! = nil
            // The publisher has just computed the golden outputs from the package as written: no rerun on install.
            let landing = try PackageDestination(out: out, registry: registry).land(tag: "publish", numbers: false) { tmp in
                let (manifest, error) = try SSMSAMPublisher.publish(r, into: tmp, toolkitVersion: ToolkitVersion.string)
                m = manifest
                if r.encoding != .f32 { print(String(format: "weights stored as %@: largest weight error %.3g", weights, error)) }
                if let key { try ManifestSignature.sign(package: tmp, key: try SigningKey.read(URL(fileURLWithPath: key))) }
            }
            switch landing {
            case .wrote(let target): print("wrote \(target.path): \(m.reference) (ssm-sam delta on \(m.base!.reference), \(m.weights.tensors) tensors)")
            case .installed(let e): print("published \(e.reference) into \(registry.root.path)")
            case .alreadyInstalled(let e): print("\(e.reference) is already installed, unchanged")
            }
        }
    }

    /// The golden support (grey, display layout), its mask and the query: from the PNGs given, else from the
    /// run's volume (the organ's centre slice, and a slice a quarter of its range away).
    private func goldenSlices(training: [String: JSONValue], organ: String?) throws -> (Image8, [Bool], Image8, String) {
        if let support, let supportMask, let query {
            let s = try ImageIO.read(URL(fileURLWithPath: support)), q = try ImageIO.read(URL(fileURLWithPath: query))
            let m = try BinaryMaskFile(supportMask)
            guard m.width == s.width, m.height == s.height else { throw ValidationError("--support-mask is \(m.width) x \(m.height), --support \(s.width) x \(s.height)") }
            return (s, m.mask, q, "\(support) (support), \(query) (query)")
        }
        guard support == nil, supportMask == nil, query == nil else { throw ValidationError("--support, --support-mask and --query go together") }
        func string(_ o: [String: JSONValue]?, _ k: String) -> String? { if case .string(let s)? = o?[k] { return s } else { return nil } }
        let data: [String: JSONValue]? = { if case .object(let d)? = training["data"] { return d } else { return nil } }()
        guard let volume = string(data, "volume"), let labels = string(data, "labels"), !volume.isEmpty, let organ else {
            throw ValidationError("the run record names no volume, labels and test organ: give --support, --support-mask and --query")
        }
        let ct = try VolumeReader.read(URL(fileURLWithPath: volume))
        let truth = try NIfTIReader.readLabels(URL(fileURLWithPath: labels), matching: ct)
        let id = try LabelMap.named(string(training, "label_map") ?? "totalseg").id(of: organ)
        guard let range = truth.sliceRange(id), range.count >= 2 else { throw ValidationError("\(labels) shows \(organ) on fewer than 2 slices") }
        let sk = (range.lowerBound + range.upperBound) / 2, qk = Swift.min(range.upperBound, sk + Swift.max(1, range.count / 4))
        let bank = SliceBank(imageSize: 1024, preset: try IntensityPreset(parsing: string(training, "intensity") ?? "ct"))
        let s = try ct.slice(sk), q = try ct.slice(qk)
        let mask = SliceRenderer.display(truth.mask(slice: sk, label: id), width: s.width, height: s.height).map { $0 != 0 }
        let grey = { (slice: Slice2D) in try Image8(width: slice.width, height: slice.height, channels: 1, pixels: bank.grey(slice, of: ct)) }
        return (try grey(s), mask, try grey(q), "\(URL(fileURLWithPath: volume).lastPathComponent) slices \(sk) (support, \(organ)) and \(qk) (query)")
    }

    private func jsonFile(_ url: URL, option: String) throws -> JSONValue {
        guard let data = try? Data(contentsOf: url) else { throw ValidationError("\(option) \(url.path): cannot read") }
        guard let v = try? JSONDecoder().decode(JSONValue.self, from: data), case .object = v else {
            throw ValidationError("\(option) \(url.path): not a JSON object")
        }
        return v
    }
}
