import Diagnostics
import Foundation
import Formats
import SAM
import TensorCore

/// The kinds of model the zoo packages. A manifest names its family (`family`; absent means SAM), and the zoo
/// loads, runs and verifies every family through `PackagedModel`.
public enum ModelFamily: String, Codable, Sendable, CaseIterable {
    /// A SAM model (any encoder): a whole state dict, or a delta on another SAM package.
    case sam
    /// An SSM-SAM meta-initialisation: its heads (and learned inner rates) as a delta on a SAM base package.
    case ssmSAM = "ssm-sam"
}

/// What a package's golden inputs produced: each output by its name in `golden/outputs.safetensors`, and the
/// tolerance the package states.
public struct GoldenResult {
    public var outputs: [(name: String, tensor: Tensor)]
    public var tolerance: GoldenPrompts.Tolerance
    public init(outputs: [(name: String, tensor: Tensor)], tolerance: GoldenPrompts.Tolerance) { (self.outputs, self.tolerance) = (outputs, tolerance) }
}

/// A model bound to a package's weights, of any family: what the zoo builds, runs and verifies.
public protocol PackagedModel {
    /// Runs the package's golden inputs (its own golden files) and returns the outputs to compare.
    func goldenOutputs(of package: ZooPackage) throws -> GoldenResult
}

extension SAMModel: PackagedModel {
    /// The golden prompts on the golden image, through `SAMPredictor`.
    public func goldenOutputs(of package: ZooPackage) throws -> GoldenResult {
        let golden = try package.golden()
        let out = try GoldenRunner.run(model: self, image: golden.image, prompts: golden.prompts)
        return GoldenResult(outputs: [(GoldenPrompts.logitsName, out.lowResLogits), (GoldenPrompts.iouName, out.iou)],
                            tolerance: golden.prompts.tolerance)
    }
}

extension ZooPackage {
    /// The model this package describes, of its family, bound to its weights (base + delta for a delta).
    public func load(base: ZooPackage?) throws -> any PackagedModel {
        switch manifest.family {
        case .sam: return try model(base: base)
        case .ssmSAM: return try MetaInitialisation(package: self, base: base)
        }
    }

    /// Reruns the golden inputs and compares every stored golden output with what the model gives now:
    /// the lines that passed, and the mismatches (each naming the output, where and by how much).
    public func checkNumbers(base: ZooPackage?) throws -> (passed: [String], mismatches: [String]) {
        let result = try load(base: base).goldenOutputs(of: self)
        let outURL = url(PackageLayout.goldenOutputs)
        let expected = try SafeTensors.read(outURL).tensors
        var passed: [String] = [], mismatches: [String] = []
        for (name, actual) in result.outputs {
            guard let e = expected[name] else {
                mismatches.append("\(name): not in \(PackageLayout.goldenOutputs) (found \(expected.names.joined(separator: ", ")))"); continue
            }
            if let why = GoldenRunner.mismatch(name, actual: actual, expected: e.floatTensor, tolerance: result.tolerance) {
                mismatches.append(why)
            } else {
                let c = GoldenRunner.comparison(actual: actual, expected: e.floatTensor, tolerance: result.tolerance)
                passed.append("\(name) \(actual.shape) max error \(GoldenRunner.fmt(c.error)) <= \(GoldenRunner.fmt(c.bound))")
            }
        }
        return (passed, mismatches)
    }
}
