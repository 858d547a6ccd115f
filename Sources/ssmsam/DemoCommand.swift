import ArgumentParser
import FewShot
import Foundation
import Imaging
import MedicalData
import SAM
import SSMSAM
import TensorCore
import Zoo

/// `ssmsam demo`: the method on a real CT: one labelled slice (the support), another slice of the same organ
/// (the query), 1-shot SSM-SAM next to zero-shot SAM prompted from the same support.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "1-shot SSM-SAM next to zero-shot SAM on a real CT: one labelled slice in, a query slice segmented, both Dice values.",
        discussion: """
        With no arguments: the shared abdominal CT (../shared/data/abdomen-ct; a synthetic phantom when it is \
        absent), the liver, the MobileSAM base \
        installed by scripts/setup. The support is the centre slice of the organ's range with its label, the \
        query a slice a quarter of the range away; the query's label only scores the predictions. SSM-SAM is \
        --ssm-model (a meta-trained run or model) when given; else, on a CT with the MobileSAM base, the organ's \
        meta-initialisation from the zoo (ssmsam/mobile-ORGAN) when it is installed in the registry; else \
        freshly initialised heads (always with --fresh-heads). It is adapted on the support (learned rates, \
        or --steps of AdamW fine-tuning). SAM is prompted from the support mask \
        (its box, its deepest point, the mask itself). Writes OUT/side_by_side.png: support with its label | \
        SSM-SAM | SAM (box) | the query's label.

        Examples:
          ssmsam demo
          ssmsam demo --ssm-model zoo:ssmsam/mobile-liver@1.0.0 --out-dir demo
        """)

    @Option(help: "The SAM base (model name or checkpoint).") var model = "mobile_sam"
    @Option(help: "A meta-trained SSM-SAM model, run folder or zoo:ID[@VERSION] (default: fresh heads on --model).") var ssmModel: String?
    static let sharedCT = "../shared/data/abdomen-ct/ct-full.nii.gz", sharedLabels = "../shared/data/abdomen-ct/labels-full.nii.gz"
    @Option(help: "CT volume (NIfTI file or DICOM series folder); without it, the shared CT, or a synthetic phantom when that is absent.") var volume: String?
    @Option(help: "Its label map (NIfTI).") var labels: String?
    @Option(help: "Label-map preset (totalseg, synapse, chaos, aal) or name=id,... (default: totalseg, or aal on the MRI template).") var preset: String?
    @Option(help: "Organ to segment (default: liver on CT, the left thalamus on the MRI template).") var organ: String?
    @Option(help: "Intensity preset: ct, mri, window:LO:HI or percentile:P (default: ct, or mri on the MRI template).") var intensity: String?
    /// Real labelled data from a Debian package (`mricron-data`, installed by scripts/setup): the Colin 27 T1 MRI
    /// template (ch2) with the AAL atlas on the same 1 mm grid.
    static let templateMRI = "/usr/share/mricron/templates/ch2.nii.gz", templateLabels = "/usr/share/mricron/templates/aal.nii.gz"
    @Option(help: "Fine-tuning steps when the model has no learned rates.") var steps = 5
    @Option(help: "Fine-tuning learning rate.") var learningRate: Float = 1e-3
    @Option(help: "Seed of fresh heads and of the point picker.") var seed: UInt64 = 0
    @Flag(help: "Fresh heads even when the organ's zoo meta-initialisation is installed.") var freshHeads = false
    @Option(help: "Folder for the PNGs.") var outDir = "ssmsam-demo"
    @Option(help: "Nearest-neighbour zoom of the written PNGs.") var zoom = 3

    func run() throws {
        try CLIErrors.report {
            guard (1...16).contains(zoom) else { throw ValidationError("--zoom \(zoom): expected 1 to 16") }
            guard (volume == nil) == (labels == nil) else { throw ValidationError("--volume and --labels go together") }
            let start = Date()
            guard ssmModel == nil || !freshHeads else { throw ValidationError("--ssm-model and --fresh-heads exclude each other") }
            let ct: Volume, truth: LabelVolume, id: Int32, source: String
            var onCT = false
            var organ = self.organ ?? "liver", intensity = self.intensity ?? "ct", preset = self.preset ?? "totalseg"
            let fm = FileManager.default
            if volume == nil && !fm.fileExists(atPath: Self.sharedCT) && fm.fileExists(atPath: Self.templateMRI) && fm.fileExists(atPath: Self.templateLabels) {
                // No CT beside this clone: a real labelled MRI from Debian's mricron-data (scripts/setup installs it).
                (organ, intensity, preset) = (self.organ ?? "thalamus_l", self.intensity ?? "mri", self.preset ?? "aal")
                ct = try VolumeReader.read(URL(fileURLWithPath: Self.templateMRI))
                truth = try NIfTIReader.readLabels(URL(fileURLWithPath: Self.templateLabels), matching: ct)
                (id, source) = (try LabelMap.named(preset).id(of: organ), "the Colin 27 T1 MRI template with the AAL atlas (Debian mricron-data; no \(Self.sharedCT) here)")
            } else if volume == nil && !fm.fileExists(atPath: Self.sharedCT) {
                // Neither: the method on a synthetic phantom, said as such.
                (ct, truth) = SyntheticPhantom.make(seed: seed)
                (id, source) = (SyntheticPhantom.organID, "a synthetic phantom (no \(Self.sharedCT) and no \(Self.templateMRI) here; give --volume and --labels for real data)")
            } else {
                let (v, l) = (volume ?? Self.sharedCT, labels ?? Self.sharedLabels)
                ct = try VolumeReader.read(URL(fileURLWithPath: v))
                truth = try NIfTIReader.readLabels(URL(fileURLWithPath: l), matching: ct)
                (id, source, onCT) = (try LabelMap.named(preset).id(of: organ), "CT \(v)", true)
            }
            guard let range = truth.sliceRange(id), range.count >= 3 else {
                throw ValidationError("the label map shows \(organ) (label \(id)) on fewer than 3 slices")
            }
            let sk = (range.lowerBound + range.upperBound) / 2
            let qk = Swift.min(range.upperBound, sk + Swift.max(1, range.count / 4))
            let sam = try ZooModels.sam(model)
            let ssmModel = self.ssmModel ?? (onCT && !freshHeads ? Self.installedMetaInitialisation(organ: organ, model: model) : nil)
            let (ssm, rates): (SSMSAMModel, LearnedStepRates?)
            if let ssmModel { let s = try ZooModels.ssm(ssmModel); (ssm, rates) = (s.model, s.rates) } else {
                var c = SSMSAMConfig(base: sam.config)
                c.adapters = false  // the cheap path: the query's encoder pass serves SAM too
                ssm = try SSMSAMModel(base: sam, config: c)
                try ssm.initializeHeads(seed: seed)
                rates = nil
            }
            let adaptation: SupportAdaptation = try rates.map { try OnlineOptimiser(model: ssm, rates: $0) }
                ?? FineTuner(model: ssm, steps: steps, learningRate: learningRate)
            let bank = SliceBank(imageSize: ssm.config.base.encoder.imageSize, preset: try IntensityPreset(parsing: intensity), ssm: ssm.adapter == nil ? ssm : nil)
            let support = try ct.slice(sk), query = try ct.slice(qk)
            let (w, h) = (support.width, support.height)
            // The protocol's methods on an episode of one support and one query (masks in the volume's layout).
            let episode = Episode(chunk: 0, slices: sk...qk, support: SupportSlice(index: sk, image: support, mask: truth.mask(slice: sk, label: id)),
                                  queries: [QuerySlice(index: qk, image: query)])
            let ssmMethod = SSMSAMMethod(name: "ssmsam", model: ssm, adaptation: adaptation)
            ssmMethod.pointSeed = seed
            let t0 = Date()
            let ssmMask = try ssmMethod.segment(episode, volume: ct, supportVolume: ct, bank: bank)["ssmsam"]![qk]!
            let ssmSeconds = Date().timeIntervalSince(t0)
            let sam0 = try ZeroShotMethod(sam: sam, sharesEncoder: ZeroShotMethod.canShareEncoder(ssm, with: sam))
                .segment(episode, volume: ct, supportVolume: ct, bank: bank)
            let samMask = { (p: ZeroShotPrompt) in sam0[ZeroShotMethod.name(p)]![qk]! }
            let queryLabel = truth.mask(slice: qk, label: id)
            let dir = URL(fileURLWithPath: outDir)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let shown = { (m: [UInt8]) in SliceRenderer.display(m, width: w, height: h) }
            let q = try bank.image(query, of: ct)
            let (ssmDice, boxDice) = (try Dice.of(prediction: ssmMask, truth: queryLabel), try Dice.of(prediction: samMask(.box), truth: queryLabel))
            let panels = [try bank.image(support, of: ct).tinted(mask: shown(episode.support.mask), colour: .orange, alpha: 0.45).zoomed(zoom)
                              .captioned("support \(sk) + label"),
                          try q.highlighted(mask: shown(ssmMask), fill: .cyan, outline: .cyan).zoomed(zoom)
                              .captioned(String(format: "SSM-SAM %.3f", ssmDice)),
                          try q.highlighted(mask: shown(samMask(.box)), fill: .yellow, outline: .yellow).zoomed(zoom)
                              .captioned(String(format: "SAM box %.3f", boxDice)),
                          try q.highlighted(mask: shown(queryLabel), fill: .orange, outline: .orange).zoomed(zoom)
                              .captioned("query \(qk) label")]
            let out = dir.appendingPathComponent("side_by_side.png")
            try ImageIO.writePNG(Image8.sideBySide(panels, gap: 6), to: out)
            print("\(source): \(organ), support slice \(sk) with its label, query slice \(qk) (range \(range.lowerBound)-\(range.upperBound)), \(w) x \(h) px")
            let installedNote = self.ssmModel == nil ? " (installed in the zoo; --fresh-heads for fresh heads)" : ""
            print("SSM-SAM: " + (ssmModel.map { "\($0)\(installedNote), " } ?? "fresh heads (seed \(seed)) on \(model), ")
                  + (rates.map { "online optimiser, \($0.steps) learned steps" } ?? "\(steps) AdamW fine-tuning steps at \(learningRate)")
                  + String(format: ", adapted in %.1f s", ssmMethod.adaptationSeconds.first ?? 0))
            print(String(format: "Dice on the query: SSM-SAM %.4f | SAM from the support: box %.4f, point %.4f, mask %.4f",
                         ssmDice, boxDice, try Dice.of(prediction: samMask(.deepestPoint), truth: queryLabel), try Dice.of(prediction: samMask(.mask), truth: queryLabel)))
            print(String(format: "time: SSM-SAM %.1f s (encoder passes included), total %.1f s", ssmSeconds, Date().timeIntervalSince(start)))
            print("wrote \(out.path) (support + label | SSM-SAM | SAM box | query label, each captioned with its Dice)")
        }
    }

    /// The default meta-initialisation: the catalogue's `ssmsam/mobile-ORGAN` (trained with ORGAN held out) when
    /// the registry holds it on the MobileSAM base and `model` is MobileSAM; nil otherwise. A registry that
    /// cannot be read is said on stderr and the demo goes on with fresh heads.
    static func installedMetaInitialisation(organ: String, model: String, registry: Registry = Registry()) -> String? {
        do {
            return defaultMetaInitialisation(organ: organ, model: model, installed: try registry.list().map { ($0.id, $0.base) })
        } catch {
            FileHandle.standardError.write(Data("demo: the zoo registry \(registry.root.path) cannot be read (\(error)); fresh heads\n".utf8))
            return nil
        }
    }

    /// `zoo:ssmsam/mobile-ORGAN` when `installed` (id, base) holds it on `sam/mobile_sam` and `model` is MobileSAM.
    static func defaultMetaInitialisation(organ: String, model: String, installed: [(id: String, base: String?)]) -> String? {
        let id = "ssmsam/mobile-\(organ)"
        guard model == "mobile_sam",
              installed.contains(where: { $0.id == id && ($0.base?.hasPrefix("sam/mobile_sam@") ?? false) }) else { return nil }
        return ZooModels.scheme + id
    }
}
