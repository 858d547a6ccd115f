import Diagnostics
import Foundation
import Imaging

/// The golden files of an SSM-SAM package (`golden/adaptation.json`): a support slice with its mask and a
/// query slice (PNG, display layout), and how to adapt: the query's logits are expected after the 1-shot
/// adaptation from the meta-initialisation (`adapted_logits`) and without it (`initial_logits`), so a
/// mismatch says whether the model or the adaptation differs.
public struct AdaptationGolden: Codable, Equatable, Sendable {
    public static let file = "golden/adaptation.json"
    public static let supportImage = "golden/support.png"
    public static let supportMask = "golden/support_mask.png"
    public static let queryImage = "golden/query.png"
    /// Every golden file of an SSM-SAM package.
    public static let files = [file, supportImage, supportMask, queryImage, PackageLayout.goldenOutputs]
    public static let adaptedName = "adapted_logits"
    public static let initialName = "initial_logits"

    /// How the support adapts the model.
    public enum Method: String, Codable, Sendable {
        /// The online optimiser with the package's learned per-layer per-step rates (Algorithm 1).
        case learnedRates = "learned-rates"
        /// AdamW fine-tuning (models without learned rates).
        case fineTune = "fine-tune"
    }

    public var method: Method
    /// Inner steps (the learned rates' count for `learned-rates`).
    public var steps: Int
    /// AdamW's learning rate (`fine-tune` only).
    public var learningRate: Float?
    /// Seed of the support-mask point picker.
    public var pointSeed: UInt64
    public var tolerance: GoldenPrompts.Tolerance
    /// Where the slices come from (free text for the card), e.g. `ct-full.nii.gz axial 95 (liver)`.
    public var source: String?

    enum CodingKeys: String, CodingKey {
        case method, steps, tolerance, source
        case learningRate = "learning_rate", pointSeed = "point_seed"
    }

    public init(method: Method, steps: Int, learningRate: Float? = nil, pointSeed: UInt64 = 0,
                tolerance: GoldenPrompts.Tolerance = .init(relative: 1e-3, absolute: 1e-3), source: String? = nil) {
        (self.method, self.steps, self.learningRate, self.pointSeed, self.tolerance, self.source) = (method, steps, learningRate, pointSeed, tolerance, source)
    }

    /// The problems of the settings (empty when valid).
    public var problems: [String] {
        var p: [String] = []
        if !(0...100).contains(steps) { p.append("steps is \(steps), expected 0...100") }
        if method == .fineTune, !(learningRate.map { $0 > 0 && $0.isFinite } ?? false) { p.append("fine-tune needs a positive learning_rate") }
        if !(tolerance.absolute >= 0 && tolerance.relative >= 0 && tolerance.absolute.isFinite && tolerance.relative.isFinite) {
            p.append("tolerance must be finite and non-negative")
        }
        return p
    }

    /// Reads and checks `golden/adaptation.json` of the package in `directory`, with its images: the support
    /// (RGB), its mask (one flag per pixel, pixels > 127 are inside) and the query (RGB).
    public static func read(_ directory: URL) throws -> (golden: AdaptationGolden, support: Image8, mask: [Bool], query: Image8) {
        let url = directory.appendingPathComponent(file)
        let golden: AdaptationGolden
        do { golden = try JSONDecoder().decode(AdaptationGolden.self, from: Data(contentsOf: url)) } catch let e as DecodingError {
            throw ToolkitError(.invalidFile, subject: url.path, "not a valid golden adaptation: \(Manifest.describe(e))")
        } catch { throw ToolkitError(.missingFile, subject: url.path, "cannot read: \(error.localizedDescription)") }
        guard golden.problems.isEmpty else { throw ToolkitError(.invalidFile, subject: url.path, golden.problems.joined(separator: "; ")) }
        func image(_ path: String) throws -> Image8 {
            let u = directory.appendingPathComponent(path)
            try ZooPackage.checkPNGHeader(u)
            return try ImageIO.read(u)
        }
        let support = try image(supportImage), maskImage = try image(supportMask), query = try image(queryImage)
        guard maskImage.width == support.width, maskImage.height == support.height else {
            throw ToolkitError(.mismatch, subject: directory.appendingPathComponent(supportMask).path,
                               "is \(maskImage.width) x \(maskImage.height), the support \(support.width) x \(support.height)")
        }
        let mask = maskImage.binaryMask
        guard mask.contains(true) else {
            throw ToolkitError(.invalidFile, subject: directory.appendingPathComponent(supportMask).path, "is empty: the support needs a labelled pixel")
        }
        return (golden, support.rgb(), mask, query.rgb())
    }
}
