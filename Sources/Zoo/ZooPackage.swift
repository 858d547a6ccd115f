import Diagnostics
import Foundation
import Formats
import Imaging
import SAM

/// A zoo package on disk: a folder with `manifest.json` and the files it lists.
public struct ZooPackage {
    public let directory: URL
    public let manifest: Manifest

    /// Reads the manifest of the package in `directory` (decoding only; `Verifier` checks the rest).
    public static func read(_ directory: URL) throws -> ZooPackage {
        let url = directory.appendingPathComponent(PackageLayout.manifest)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ToolkitError(.missingFile, subject: directory.path, "not a zoo package: no \(PackageLayout.manifest)")
        }
        return ZooPackage(directory: directory, manifest: try Manifest.read(url))
    }

    /// A file of the package by its relative path.
    public func url(_ path: String) -> URL { directory.appendingPathComponent(path) }

    /// The weight file's tensors as stored (the whole model for a base, the changed tensors for a delta).
    public func storedWeights() throws -> StateDict { try SafeTensors.read(url(manifest.weights.path)).tensors }

    /// The whole state dict: for a delta, `base`'s weights with this package's tensors put in.
    public func fullWeights(base: ZooPackage?) throws -> StateDict {
        let own = try storedWeights()
        guard manifest.kind == .delta else { return own }
        guard let base else { throw ToolkitError(.missingFile, subject: directory.path, "\(manifest.reference) is a delta: its base \(manifest.base?.reference ?? "?") is needed") }
        return DeltaWeights.apply(own, to: try base.storedWeights())
    }

    /// The model this package describes, bound to its weights with the manifest's architecture.
    public func model(base: ZooPackage?) throws -> SAMModel {
        guard manifest.family == .sam else {
            throw ToolkitError(.unsupported, subject: directory.path, "\(manifest.reference) is an \(manifest.family.rawValue) package, not a SAM model")
        }
        return try SAMModel(try fullWeights(base: base), file: url(manifest.weights.path).path, config: manifest.architecture)
    }

    /// The golden prompts, image and expected outputs.
    public func golden() throws -> (prompts: GoldenPrompts, image: Image8, lowResLogits: StoredTensor, iou: StoredTensor) {
        let promptsURL = url(PackageLayout.goldenPrompts)
        let prompts: GoldenPrompts
        do { prompts = try JSONDecoder().decode(GoldenPrompts.self, from: Data(contentsOf: promptsURL)) } catch let e as DecodingError {
            throw ToolkitError(.invalidFile, subject: promptsURL.path, "not valid golden prompts: \(Manifest.describe(e))")
        } catch { throw ToolkitError(.missingFile, subject: promptsURL.path, "cannot read: \(error)") }
        // The paths are fixed: never read a file a hostile prompts.json points at outside the package.
        guard prompts.image == PackageLayout.goldenImage, prompts.outputs == PackageLayout.goldenOutputs else {
            throw ToolkitError(.invalidFile, subject: promptsURL.path, "image and outputs must be \(PackageLayout.goldenImage) and \(PackageLayout.goldenOutputs), found \(prompts.image) and \(prompts.outputs)")
        }
        try Self.checkPNGHeader(url(prompts.image))
        let image = try ImageIO.read(url(prompts.image))
        let problems = prompts.problems(imageWidth: image.width, imageHeight: image.height)
        guard problems.isEmpty else { throw ToolkitError(.invalidFile, subject: promptsURL.path, problems.joined(separator: "; ")) }
        let outURL = url(prompts.outputs)
        let outputs = try SafeTensors.read(outURL).tensors
        guard let logits = outputs[GoldenPrompts.logitsName], let iou = outputs[GoldenPrompts.iouName] else {
            throw ToolkitError(.invalidFile, subject: outURL.path, "expected tensors '\(GoldenPrompts.logitsName)' and '\(GoldenPrompts.iouName)', found \(outputs.names)")
        }
        return (prompts, image, logits, iou)
    }

    /// Most pixels per side of a golden image: read from the PNG header before decoding, so a tiny file
    /// cannot make the decoder allocate gigabytes.
    public static let maxGoldenSide = 4096

    static func checkPNGHeader(_ url: URL) throws {
        guard let h = FileHandle(forReadingAtPath: url.path) else { throw ToolkitError(.missingFile, subject: url.path, "cannot open for reading") }
        defer { try? h.close() }
        let head = [UInt8]((try? h.read(upToCount: 24)) ?? Data())
        guard head.count == 24, head[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
              head[12..<16].elementsEqual(Array("IHDR".utf8)) else {
            throw ToolkitError(.invalidFile, subject: url.path, "not a PNG image (expected the PNG signature and an IHDR chunk)")
        }
        let w = head[16..<20].reduce(0) { $0 << 8 | Int($1) }, hgt = head[20..<24].reduce(0) { $0 << 8 | Int($1) }
        guard (1...maxGoldenSide).contains(w), (1...maxGoldenSide).contains(hgt) else {
            throw ToolkitError(.unsupported, subject: url.path, "image is \(w) x \(hgt) pixels, at most \(maxGoldenSide) x \(maxGoldenSide) allowed for a golden input")
        }
    }
}
