import ArgumentParser
import Diagnostics
import FewShot
import Foundation
import SAM
import SSMSAM
import Zoo

/// `zoo:ID[@VERSION]` wherever a model is accepted: an installed package of the registry
/// (`$SSMSAM_ZOO`, else ~/.cache/ssmsam/zoo), the newest version when none is named.
enum ZooModels {
    static let scheme = "zoo:"

    /// The package reference of `text`, or nil when `text` does not start with `zoo:`.
    static func reference(_ text: String) throws -> ModelReference? {
        guard text.hasPrefix(scheme) else { return nil }
        return try ModelReference(parsing: String(text.dropFirst(scheme.count)))
    }

    /// Whether `text` names a zoo package (`zoo:...`).
    static func isReference(_ text: String) -> Bool { text.hasPrefix(scheme) }

    /// A SAM model: `zoo:ID[@V]` of a SAM package, else a checkpoint or model name (`SAMModelStore`), with the
    /// prompt encoder and mask decoder of `decoder` when given.
    static func sam(_ text: String, preset: String? = nil, key: String? = nil, decoder: String? = nil) throws -> SAMModel {
        guard let ref = try reference(text) else { return try SAMModelStore.load(text, preset: preset, key: key, decoder: decoder) }
        if decoder != nil { throw ValidationError("--decoder applies to checkpoint files, not to zoo packages") }
        guard let model = try Registry().load(ref) as? SAMModel else {
            throw ValidationError("\(text) is an SSM-SAM package, not a SAM model: use it with adapt, eval, ablate or demo")
        }
        return model
    }

    /// An SSM-SAM model with its learned rates, where it came from and the checksum recorded with results:
    /// `zoo:ID[@V]` (the checksum of the package's weight file), a run folder or a model file (its own).
    struct SSMSource {
        let model: SSMSAMModel
        let rates: LearnedStepRates?
        let label: String
        let sha256: String
    }

    static func ssm(_ text: String) throws -> SSMSource {
        if let ref = try reference(text) {
            let registry = Registry()
            let package = try registry.package(ref)
            guard let meta = try registry.load(ref) as? MetaInitialisation else {
                throw ValidationError("\(text) is a SAM package: SSM-SAM commands need an ssm-sam package (a meta-initialisation)")
            }
            let weights = try FileDigest.sha256(of: package.url(package.manifest.weights.path)).hex
            return SSMSource(model: meta.model, rates: meta.rates, label: "zoo:\(package.manifest.reference)", sha256: weights)
        }
        let url = ModelMapping.file(text)
        let (model, rates) = try MetaModelFile.load(url)
        return SSMSource(model: model, rates: rates, label: url.path, sha256: try FileDigest.sha256(of: url).hex)
    }
}
