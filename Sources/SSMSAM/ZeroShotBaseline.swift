import Diagnostics
import SAM
import TensorCore

/// The honest zero-shot baselines SSM-SAM must beat (design note, "Honest baselines"): plain SAM on the
/// query slice, prompted from the **support** mask only — the query's label is never an input.
public enum ZeroShotPrompt: String, CaseIterable, Sendable {
    /// One positive point at the support mask's deepest interior point (largest Euclidean distance to the
    /// background; the image border counts as background). SAM's multimask output, best predicted IoU.
    case deepestPoint = "point"
    /// The support mask's bounding box (inclusive pixel extremes). Single-mask output.
    case box
    /// The support mask itself as SAM's mask prompt (low-res logits). Single-mask output.
    case mask
}

/// The prompts a zero-shot baseline gives SAM, in the query image's pixels.
public struct ZeroShotPrompts: Equatable {
    public var points: [PromptPoint] = []
    public var box: PromptBox?
    /// Low-res mask logits (1, 1, 4 grid, 4 grid) in SAM's padded input frame.
    public var maskInput: Tensor?
    /// Whether SAM is asked for three masks (a single point is ambiguous) or one.
    public var multimask: Bool
}

/// SAM prompted from a support mask: the three baselines of the design note, for one query slice.
public struct ZeroShotBaseline {
    /// The magnitude of the logits a binary support mask becomes as SAM's mask prompt: inside +`maskLogit`,
    /// outside -`maskLogit`, boundary cells in between by their area fraction (SAM's own mask prompts are
    /// earlier low-res logits, whose confident values are of this order).
    public static let maskLogit: Float = 10

    public let prompt: ZeroShotPrompt

    public init(_ prompt: ZeroShotPrompt) { self.prompt = prompt }

    /// The prompts for a query of `width` x `height` from a support mask of `supportWidth` x
    /// `supportHeight` (row-major, true inside). A support of another size is resampled to the query's
    /// (nearest neighbour), as a support from a separate volume would be. Throws `.invalidArgument` for an
    /// empty mask, `.mismatch` for a mask whose pixel count is not its size.
    public func prompts(supportMask: [Bool], supportWidth: Int, supportHeight: Int, width: Int, height: Int,
                        preprocessing: SAMPreprocessing) throws -> ZeroShotPrompts {
        guard supportWidth > 0, supportHeight > 0, supportMask.count == supportWidth * supportHeight else {
            throw ToolkitError(.mismatch, subject: "support mask", "has \(supportMask.count) pixels, expected \(supportWidth) x \(supportHeight)")
        }
        let mask = SAMPreprocessing.nearestResampled(supportMask, from: (supportWidth, supportHeight), to: (width, height))
        guard mask.contains(true) else {
            throw ToolkitError(.invalidArgument, subject: "support mask", "is empty: the \(prompt.rawValue) baseline needs one labelled pixel at least")
        }
        switch prompt {
        case .deepestPoint:
            let (x, y) = Self.deepestPoint(mask, width: width, height: height)
            return ZeroShotPrompts(points: [PromptPoint(x: Float(x), y: Float(y), label: 1)], multimask: true)
        case .box:
            var (x0, y0, x1, y1) = (width, height, -1, -1)
            for r in 0..<height { for c in 0..<width where mask[r * width + c] {
                (x0, y0, x1, y1) = (Swift.min(x0, c), Swift.min(y0, r), Swift.max(x1, c), Swift.max(y1, r))
            } }
            return ZeroShotPrompts(box: PromptBox(x0: Float(x0), y0: Float(y0), x1: Float(x1), y1: Float(y1)), multimask: false)
        case .mask:
            return ZeroShotPrompts(maskInput: Self.maskPrompt(mask, width: width, height: height, preprocessing: preprocessing),
                                   multimask: false)
        }
    }

    /// The query's mask logits at its size (1, 1, H, W): SAM on the query with the support's prompts. The
    /// predictor must hold the query image (`setImage`).
    public func predict(_ predictor: SAMPredictor, supportMask: [Bool], supportWidth: Int, supportHeight: Int) throws
        -> (logits: Tensor, prompts: ZeroShotPrompts) {
        let (h, w) = predictor.originalSize
        guard h > 0 else {
            throw ToolkitError(.noImage, subject: "ZeroShotBaseline", "the predictor holds no query image: call setImage first")
        }
        let p = try prompts(supportMask: supportMask, supportWidth: supportWidth, supportHeight: supportHeight,
                            width: w, height: h, preprocessing: predictor.preprocessing)
        let r = try predictor.predict(points: p.points, box: p.box, maskInput: p.maskInput, multimask: p.multimask)
        return (r.masks.narrow(axis: 1, start: r.best, length: 1), p)
    }

    /// The (column, row) of the mask pixel farthest from the background (exact Euclidean distance
    /// transform, Felzenszwalb & Huttenlocher's two separable passes); the first in row-major order on ties.
    static func deepestPoint(_ mask: [Bool], width w: Int, height h: Int) -> (Int, Int) {
        // Squared distance to the nearest background pixel, with a background ring around the image.
        let inf = Float(w * w + h * h + 4)
        var d = [Float](repeating: 0, count: w * h)
        var column = [Float](repeating: 0, count: h + 2)
        for c in 0..<w {
            column[0] = 0; column[h + 1] = 0
            for r in 0..<h { column[r + 1] = mask[r * w + c] ? inf : 0 }
            let t = squaredDistance1D(column)
            for r in 0..<h { d[r * w + c] = t[r + 1] }
        }
        var row = [Float](repeating: 0, count: w + 2)
        var best = (value: Float(-1), x: 0, y: 0)
        for r in 0..<h {
            row[0] = 0; row[w + 1] = 0
            for c in 0..<w { row[c + 1] = d[r * w + c] }
            let t = squaredDistance1D(row)
            for c in 0..<w where mask[r * w + c] && t[c + 1] > best.value { best = (t[c + 1], c, r) }
        }
        return (best.x, best.y)
    }

    /// The 1-D squared distance transform min_q (p - q)^2 + f(q) (lower envelope of parabolas).
    static func squaredDistance1D(_ f: [Float]) -> [Float] {
        let n = f.count
        var v = [Int](repeating: 0, count: n), z = [Float](repeating: 0, count: n + 1)
        var k = 0
        z[0] = -.infinity; z[1] = .infinity
        for q in 1..<n {
            var s: Float
            repeat {
                let p = v[k]
                s = ((f[q] + Float(q * q)) - (f[p] + Float(p * p))) / Float(2 * (q - p))
                if s <= z[k] { k -= 1 } else { break }
            } while k >= 0
            k += 1
            v[k] = q; z[k] = s; z[k + 1] = .infinity
        }
        var out = [Float](repeating: 0, count: n)
        k = 0
        for q in 0..<n {
            while z[k + 1] < Float(q) { k += 1 }
            let p = v[k]
            out[q] = Float((q - p) * (q - p)) + f[p]
        }
        return out
    }

    /// A binary mask as SAM's mask prompt: resized into the padded input frame as the image is, then each
    /// 4 x 4 cell's inside fraction a mapped to the logit `maskLogit` * (2a - 1).
    static func maskPrompt(_ mask: [Bool], width: Int, height: Int, preprocessing: SAMPreprocessing) -> Tensor {
        let s = preprocessing.modelSize, low = s / 4
        let framed = preprocessing.framedMask(mask, width: width, height: height).data
        var out = Tensor.zeros([1, 1, low, low])
        for r in 0..<low { for c in 0..<low {
            var a: Float = 0
            for i in 0..<4 { for j in 0..<4 { a += framed[(4 * r + i) * s + 4 * c + j] } }
            out.data[r * low + c] = maskLogit * (2 * a / 16 - 1)
        } }
        return out
    }
}
