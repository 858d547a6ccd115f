import Diagnostics
import Formats
import Foundation
import TensorCore

/// A reference bundle of `scripts/record_reference.py`: a user's PyTorch model run on their inputs, with the
/// output of every named stage, for `ssmsam parity`. A folder holding `manifest.json` (what was run: model
/// file and checksum, library versions, preprocessing, inputs, prompts, the stages in pipeline order),
/// `reference.safetensors` (one tensor per stage) and `inputs/` (the input files as given).
public struct ParityBundle {
    public static let format = "ssmsam-parity-bundle"
    public static let version = 1

    /// What the bundle's model is: a SAM (ViT or TinyViT) or an SSM-SAM model (the PyTorch twin).
    public enum Kind: String, Codable, Sendable {
        case sam, ssmsam
    }

    /// One recorded stage: its name (e.g. `encoder.embedding`), shape, storage dtype, and whether it holds
    /// mask logits (or a mask), for which the comparison also reports the IoU of the masks (logit > 0).
    public struct Stage: Codable, Equatable, Sendable {
        public let name: String
        public let shape: [Int]
        public let dtype: String
        public let mask: Bool
    }

    /// The model the reference ran: the file as given to the script and its sha256.
    public struct Model: Codable, Sendable {
        public let file: String
        public let sha256: String
    }

    /// The input files, relative to the bundle folder (SAM: `image`; SSM-SAM: `support`, `supportMask`, `query`).
    public struct Inputs: Codable, Sendable {
        public let image: String?
        public let support: String?
        public let supportMask: String?
        public let query: String?
        enum CodingKeys: String, CodingKey { case image, support, supportMask = "support_mask", query }
    }

    /// SAM's prompts in the original image's pixels: points (x, y, label), a box (x0, y0, x1, y1), multimask.
    public struct Prompts: Codable, Sendable {
        public let points: [[Float]]
        public let box: [Float]?
        public let multimask: Bool
    }

    /// SSM-SAM's prompt points (x, y, label 1 positive or 0) in the model's input frame, picked by the twin.
    public struct FramePoints: Codable, Sendable {
        public let points: [[Float]]
    }

    /// `manifest.json`; keys this reader does not use (versions, preprocessing facts) are kept in the file only.
    public struct Manifest: Codable, Sendable {
        public let format: String
        public let version: Int
        public let kind: Kind
        public let model: Model
        public let versions: [String: String]?
        public let inputs: Inputs
        public let prompts: Prompts?
        public let points: FramePoints?
        public let tensors: String
        public let stages: [Stage]
    }

    public let directory: URL
    public let manifest: Manifest
    /// The reference tensor of every stage, as Float32.
    public let references: [String: Tensor]

    /// Reads and checks a bundle folder: a manifest of this format and version, every listed stage present in
    /// the tensor file with its listed shape. Throws a `ToolkitError` naming the file and what is wrong.
    public init(directory: URL) throws {
        self.directory = directory
        let manifestURL = directory.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: manifestURL) else {
            throw ToolkitError(.missingFile, subject: manifestURL.path, "no bundle manifest: record one with scripts/record_reference.py")
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw ToolkitError(.invalidFile, subject: manifestURL.path, "not a parity bundle manifest: \(Self.describe(error))")
        }
        guard manifest.format == Self.format else {
            throw ToolkitError(.invalidFile, subject: manifestURL.path, "format is '\(manifest.format)', expected '\(Self.format)'")
        }
        guard manifest.version == Self.version else {
            throw ToolkitError(.unsupported, subject: manifestURL.path, "bundle version \(manifest.version), this toolkit reads version \(Self.version)")
        }
        guard !manifest.stages.isEmpty else {
            throw ToolkitError(.invalidFile, subject: manifestURL.path, "lists no stages")
        }
        let tensorURL = directory.appendingPathComponent(manifest.tensors)
        guard FileManager.default.fileExists(atPath: tensorURL.path) else {
            throw ToolkitError(.missingFile, subject: tensorURL.path, "the bundle's stage tensors are missing")
        }
        let stored = try SafeTensors.read(tensorURL).tensors
        var references: [String: Tensor] = [:]
        for stage in manifest.stages {
            guard references[stage.name] == nil else {
                throw ToolkitError(.invalidFile, subject: manifestURL.path, "stage \(stage.name) is listed twice")
            }
            guard let t = stored[stage.name] else {
                throw ToolkitError(.invalidFile, subject: tensorURL.path, "no tensor for stage \(stage.name), which the manifest lists")
            }
            guard t.shape == stage.shape else {
                throw ToolkitError(.mismatch, subject: tensorURL.path, "stage \(stage.name) has shape \(t.shape), the manifest says \(stage.shape)")
            }
            references[stage.name] = t.floatTensor
        }
        (self.manifest, self.references) = (manifest, references)
    }

    /// The URL of an input file named in the manifest; throws when the manifest lacks it or the file is gone.
    public func input(_ relative: String?, _ what: String) throws -> URL {
        guard let relative else {
            throw ToolkitError(.invalidFile, subject: directory.appendingPathComponent("manifest.json").path,
                               "a \(manifest.kind.rawValue) bundle needs inputs.\(what)")
        }
        let url = directory.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ToolkitError(.missingFile, subject: url.path, "the bundle's \(what) input is missing")
        }
        return url
    }

    /// The reference of a stage the manifest lists (callers iterate `manifest.stages`).
    public func reference(_ stage: String) -> Tensor? { references[stage] }

    /// A decoding error in one line: the key path and what was wrong.
    private static func describe(_ error: Error) -> String {
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let c)?: return "missing key \((path(c).isEmpty ? "" : path(c) + ".") + key.stringValue)"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?: return "\(path(c)): \(c.debugDescription)"
        case .dataCorrupted(let c)?: return (path(c).isEmpty ? "" : path(c) + ": ") + c.debugDescription
        default: return "\(error)"
        }
    }
}
