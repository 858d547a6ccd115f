import Diagnostics
import FewShot
import Foundation
import Formats
import Imaging
import SAM
import SSMSAM
import TensorCore

/// An SSM-SAM package's model: the meta-initialisation θ (the SAM base's image encoder, frozen, and the
/// trained heads) with its learned per-layer per-step inner rates (nil for a model adapted by fine-tuning).
public final class MetaInitialisation: PackagedModel {
    public let model: SSMSAMModel
    public let rates: LearnedStepRates?

    public init(model: SSMSAMModel, rates: LearnedStepRates?) { (self.model, self.rates) = (model, rates) }

    /// Binds a package's weights: the base's image encoder, then the package's tensors (decoded on the
    /// regenerated initialisation when residual-encoded, which must match the pinned digest).
    public convenience init(package: ZooPackage, base: ZooPackage?) throws {
        let m = package.manifest, file = package.url(m.weights.path).path
        guard let config = m.ssmSAM else { throw ToolkitError(.invalidFile, subject: package.url(PackageLayout.manifest).path, "no ssm_sam configuration") }
        guard let base else {
            throw ToolkitError(.missingFile, subject: package.directory.path, "\(m.reference) is a delta: its base \(m.base?.reference ?? "?") is needed")
        }
        let own = try Self.decodedTensors(package)
        var tensors = StateDict()
        let encoderPrefix = SSMSAMModel.basePrefix + "."
        for (name, t) in try base.fullWeights(base: nil).entries where name.hasPrefix(encoderPrefix) { tensors[name] = t }
        for (name, t) in own.entries { tensors[name] = t }
        let (model, rates) = try MetaModelFile.model(tensors, config: config, file: file)
        self.init(model: model, rates: rates)
    }

    /// The package's stored tensors as the model's (residuals decoded).
    static func decodedTensors(_ package: ZooPackage) throws -> StateDict {
        let m = package.manifest, file = package.url(m.weights.path).path
        let stored = try package.storedWeights()
        guard m.weights.encoding == ResidualCodec.encoding, let pin = m.weights.initialisation, let config = m.ssmSAM else { return stored }
        let initial = try HeadInitialisation.tensors(config: config, seed: pin.seed)
        let digest = HeadInitialisation.digest(initial)
        guard digest == pin.sha256 else {
            throw ToolkitError(.verificationFailed, subject: file, "the heads' initialisation from seed \(pin.seed) regenerates with digest \(digest), "
                               + "the manifest pins \(pin.sha256): this machine cannot rebuild the residuals' reference bit for bit")
        }
        return try ResidualCodec.decode(stored, on: initial, file: file)
    }

    /// How a support adapts this model as the golden file says: the learned rates, or AdamW fine-tuning.
    public func adaptation(_ golden: AdaptationGolden) throws -> SupportAdaptation {
        switch golden.method {
        case .learnedRates:
            guard let rates else { throw ToolkitError(.invalidFile, subject: AdaptationGolden.file, "method learned-rates, but the package has no lslr.* rates") }
            guard rates.steps == golden.steps else {
                throw ToolkitError(.mismatch, subject: AdaptationGolden.file, "steps \(golden.steps), the package's learned rates have \(rates.steps)")
            }
            return try OnlineOptimiser(model: model, rates: rates)
        case .fineTune:
            return try FineTuner(model: model, steps: golden.steps, learningRate: golden.learningRate ?? 1e-3)
        }
    }

    /// The query's logits without and with the 1-shot adaptation on the golden support.
    public func goldenOutputs(of package: ZooPackage) throws -> GoldenResult {
        let (golden, support, mask, query) = try AdaptationGolden.read(package.directory)
        func rgb(_ i: Image8) -> ImageOneShot.RGBImage { .init(pixels: i.pixels, width: i.width, height: i.height) }
        let initial = try ImageOneShot(model: model, adaptation: nil).run(support: rgb(support), mask: mask, queries: [rgb(query)], pointSeed: golden.pointSeed)
        let adapted = try ImageOneShot(model: model, adaptation: try adaptation(golden))
            .run(support: rgb(support), mask: mask, queries: [rgb(query)], pointSeed: golden.pointSeed)
        return GoldenResult(outputs: [(AdaptationGolden.initialName, initial.logits[0]), (AdaptationGolden.adaptedName, adapted.logits[0])],
                            tolerance: golden.tolerance)
    }
}
