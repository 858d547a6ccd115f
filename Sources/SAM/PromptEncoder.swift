import Foundation
import NN
import TensorCore

/// SAM's prompt encoder (`PromptEncoder`): random Fourier position encoding, point/box/mask embeddings.
public struct PromptEncoder: Module {
    public static let checkpointKeys = [
        "gaussian": "pe_layer.positional_encoding_gaussian_matrix", "notAPoint": "not_a_point_embed", "noMask": "no_mask_embed",
        "maskConv1": "mask_downscaling.0", "maskNorm1": "mask_downscaling.1", "maskConv2": "mask_downscaling.3",
        "maskNorm2": "mask_downscaling.4", "maskConv3": "mask_downscaling.6",
    ]
    public let dim: Int, gridSize: Int, inputSize: Int
    /// `pe_layer.positional_encoding_gaussian_matrix` (2, dim/2): a buffer, never trained.
    public let gaussian: Buffer
    private let densePECache = DerivedTensorCache()
    public let pointEmbeddings: [Embedding]
    public let notAPoint: Embedding, noMask: Embedding
    public let maskConv1: Conv2d, maskNorm1: LayerNorm2d, maskConv2: Conv2d, maskNorm2: LayerNorm2d, maskConv3: Conv2d

    /// The prompt encoder of a configuration, with placeholder values: load a checkpoint or call `initialize`.
    public init(config c: SAMConfig) {
        let dim = c.decoder.promptDim
        self.dim = dim
        gridSize = c.encoder.gridSize
        inputSize = c.encoder.imageSize
        gaussian = Buffer(Tensor.zeros([2, dim / 2]))
        pointEmbeddings = (0..<4).map { _ in Embedding(1, dim) }
        notAPoint = Embedding(1, dim)
        noMask = Embedding(1, dim)
        let m = c.decoder.maskInChannels
        maskConv1 = Conv2d(1, m / 4, kernel: 2, stride: 2)
        maskNorm1 = LayerNorm2d(m / 4)
        maskConv2 = Conv2d(m / 4, m, kernel: 2, stride: 2)
        maskNorm2 = LayerNorm2d(m)
        maskConv3 = Conv2d(m, dim, kernel: 1)
    }

    /// `_pe_encoding` of normalised coordinates (x, y) in [0, 1]: [sin(2π(2c-1)G), cos(2π(2c-1)G)].
    func encode(_ coords: [(Float, Float)]) -> Tensor {
        let half = dim / 2
        var out = Tensor(uninitializedShape: [coords.count, dim])
        for (i, (x, y)) in coords.enumerated() {
            let cx = 2 * x - 1, cy = 2 * y - 1
            for j in 0..<half {
                let v = 2 * Float.pi * (cx * gaussian.value.data[j] + cy * gaussian.value.data[half + j])
                out.data[i * dim + j] = sinf(v)
                out.data[i * dim + half + j] = cosf(v)
            }
        }
        return out
    }

    /// The dense positional encoding of the embedding grid at pixel centres: (1, dim, grid, grid).
    /// A function of the Gaussian matrix alone, so it is computed once per matrix and reused by every prompt
    /// (the reference recomputes it per call: 4096 x dim sines and cosines).
    public func densePositionalEncoding() -> Tensor {
        densePECache.value(for: gaussian.value) { computeDensePositionalEncoding() }
    }

    private func computeDensePositionalEncoding() -> Tensor {
        var coords: [(Float, Float)] = []
        for i in 0..<gridSize { for j in 0..<gridSize {
            coords.append(((Float(j) + 0.5) / Float(gridSize), (Float(i) + 0.5) / Float(gridSize)))
        } }
        return encode(coords).reshaped([gridSize, gridSize, dim]).permuted([2, 0, 1]).reshaped([1, dim, gridSize, gridSize])
    }

    /// Sparse (1, N, dim) and dense (1, dim, grid, grid) embeddings of one prompt set.
    /// `mask` is low-res logits (1, 1, 4*grid, 4*grid).
    public func callAsFunction(points: [PromptPoint], box: PromptBox?, mask: Variable?) -> (sparse: Variable, dense: Variable) {
        var rows: [Variable] = []
        var pts = points
        if !pts.isEmpty && box == nil { pts.append(PromptPoint(x: 0, y: 0, label: -1) ) }  // padding point
        if !pts.isEmpty {
            // Shift to pixel centres (the padding point too, as the reference does), normalise, encode.
            let pe = encode(pts.map { (($0.x + 0.5) / Float(inputSize), ($0.y + 0.5) / Float(inputSize)) })
            for (i, p) in pts.enumerated() {
                let row = Variable(pe.narrow(axis: 0, start: i, length: 1))
                switch p.label {
                case -1: rows.append(notAPoint.weight)
                case 0: rows.append(row + pointEmbeddings[0].weight)
                case 1: rows.append(row + pointEmbeddings[1].weight)
                default: preconditionFailure("point label \(p.label): expected 1 (foreground) or 0 (background)")
                }
            }
        }
        if let bx = box {
            let pe = encode([((bx.x0 + 0.5) / Float(inputSize), (bx.y0 + 0.5) / Float(inputSize)),
                             ((bx.x1 + 0.5) / Float(inputSize), (bx.y1 + 0.5) / Float(inputSize))])
            rows.append(Variable(pe.narrow(axis: 0, start: 0, length: 1)) + pointEmbeddings[2].weight)
            rows.append(Variable(pe.narrow(axis: 0, start: 1, length: 1)) + pointEmbeddings[3].weight)
        }
        let sparse = rows.isEmpty ? Variable(Tensor.zeros([1, 0, dim])) : Variable.concat(rows, axis: 0).reshaped([1, rows.count, dim])
        let dense: Variable
        if let m = mask {
            precondition(m.shape == [1, 1, 4 * gridSize, 4 * gridSize], "mask prompt must be 1 x 1 x \(4 * gridSize) x \(4 * gridSize) low-res logits, got \(m.shape)")
            dense = maskConv3(maskNorm2(maskConv2(maskNorm1(maskConv1(m)).gelu())).gelu())
        } else {
            dense = noMask.weight.reshaped([1, dim, 1, 1]) + Variable(Tensor.zeros([1, dim, gridSize, gridSize]))
        }
        return (sparse, dense)
    }
}

extension PromptEncoder {
    /// SAM draws the Gaussian matrix from a standard normal (scale 1); conv and norm layers keep their own.
    public func initializer(forKey key: String, shape: [Int]) -> Initializer? {
        key == "pe_layer.positional_encoding_gaussian_matrix" ? .normal(mean: 0, std: 1) : nil
    }
}

/// One tensor derived from another, recomputed only when the source's values change (a loaded checkpoint
/// replaces a buffer's value). Thread-safe.
final class DerivedTensorCache: @unchecked Sendable {
    private var source: Tensor?, derived: Tensor?
    private let lock = NSLock()

    func value(for current: Tensor, _ compute: () -> Tensor) -> Tensor {
        lock.lock(); defer { lock.unlock() }
        if let s = source, let d = derived, s == current { return d }
        let d = compute()
        (source, derived) = (current, d)
        return d
    }
}
