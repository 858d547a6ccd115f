import NN
import TensorCore

/// What the rest of SAM needs from an image encoder: a (1, 3, S, S) preprocessed input to the
/// (1, C, S/16, S/16) embedding, optionally with intermediate outputs of chosen blocks. Its parameters
/// and buffers are a module tree (`Module`).
public protocol SAMImageEncoder: Module {
    /// Side of the square input.
    var inputSize: Int { get }
    /// The embedding and the outputs of the blocks listed in `taps` (0-based), in that order.
    func callAsFunction(_ image: Variable, taps: [Int]) -> (embedding: Variable, taps: [Variable])
    /// SAM's neck, applied to tokens (B, H, W, D) of the last stage's width.
    var neck: SAMNeck { get }
}

extension SAMImageEncoder {
    /// The embedding (and the outputs of the blocks in `taps`) of a preprocessed (1, 3, S, S) input,
    /// without recording a graph.
    public func encode(_ input: Tensor, taps: [Int] = []) -> (embedding: Tensor, taps: [Tensor]) {
        Variable.noGrad {
            let r = self(Variable(input), taps: taps)
            return (r.embedding.value, r.taps.map(\.value))
        }
    }
}

extension ImageEncoderViT: SAMImageEncoder {
    public var inputSize: Int { config.imageSize }
}
