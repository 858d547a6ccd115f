import NN
import TensorCore

/// A prompt point in the input frame: pixel (column c, row r) has its centre at (c + 0.5, r + 0.5).
public struct SamplerPoint: Equatable, Codable, Sendable {
    public var x: Float, y: Float
    /// Inside the support mask (positive) or outside it (negative).
    public var positive: Bool
    public init(x: Float, y: Float, positive: Bool) { (self.x, self.y, self.positive) = (x, y, positive) }
}

/// One self-sampler layer: self-attention over [global queries; visual prompts], an MLP on the global
/// queries, then cross-attention from the image tokens to the updated prompt tokens.
public struct SamplerLayer: Module {
    public static let checkpointKeys = ["selfAttention": "self_attn", "crossAttention": "cross_attn"]
    public let queries: Variable
    public let selfAttention: MultiHeadAttention
    public let norm1: LayerNorm
    public let mlp: MLPBlock
    public let norm2: LayerNorm
    public let crossAttention: MultiHeadAttention
    public let norm3: LayerNorm

    public init(channels c: Int, queries q: Int, heads: Int, mlpHidden: Int) {
        queries = Variable(Tensor.zeros([q, c]), requiresGrad: true)
        selfAttention = MultiHeadAttention(c, heads: heads)
        norm1 = LayerNorm(c)
        mlp = MLPBlock(c, hidden: mlpHidden, activation: .relu)
        norm2 = LayerNorm(c)
        crossAttention = MultiHeadAttention(c, heads: heads, downsample: 2)
        norm3 = LayerNorm(c)
    }

    public func initializer(forKey key: String, shape: [Int]) -> Initializer? { .normal(mean: 0, std: 1) }

    /// image (1, N, C), prompts (1, P, C) -> updated (image, prompts).
    func callAsFunction(image: Variable, prompts: Variable) -> (image: Variable, prompts: Variable) {
        let q = queries.shape[0], c = queries.shape[1], p = prompts.shape[1]
        var t = Variable.concat([queries.reshaped([1, q, c]), prompts], axis: 1)
        t = norm1(t + selfAttention(q: t, k: t, v: t))
        var global = t.narrow(axis: 1, start: 0, length: q)
        let updated = t.narrow(axis: 1, start: q, length: p)
        global = norm2(global + mlp(global))
        let tokens = Variable.concat([global, updated], axis: 1)
        let x = norm3(image + crossAttention(q: image, k: tokens, v: tokens))
        return (x, updated)
    }
}

/// SSM-SAM's self-sampling module: visual prompts read from the query's shallowest feature map at points
/// taken from the support mask, plus a learned positive/negative embedding, refine that map's tokens.
public struct SelfSampler: Module {
    /// Row 0 negative, row 1 positive.
    public let pointEmbed: Embedding
    public let layers: [SamplerLayer]
    public let inputSize: Int

    public init(channels c: Int, inputSize: Int, layers n: Int, queries: Int, heads: Int, mlpHidden: Int) {
        pointEmbed = Embedding(2, c)
        layers = (0..<n).map { _ in SamplerLayer(channels: c, queries: queries, heads: heads, mlpHidden: mlpHidden) }
        self.inputSize = inputSize
    }

    /// The refined level (1, C, G, G) of the query's shallowest level (1, C, G, G).
    public func callAsFunction(_ level: Variable, points: [SamplerPoint]) -> Variable {
        precondition(level.shape.count == 4 && level.shape[0] == 1, "self-sampler expects a 1 x C x G x G level, got \(level.shape)")
        precondition(!points.isEmpty, "self-sampler needs at least one point")
        let (c, g) = (level.shape[1], level.shape[2])
        let s = Float(inputSize)
        // grid_sample(align_corners=False) coordinates: x (column) first, -1 and 1 at the frame's outer edges.
        let grid = Tensor(shape: [1, 1, points.count, 2], data: points.flatMap { [2 * $0.x / s - 1, 2 * $0.y / s - 1] })
        let sampled = level.gridSample(Variable(grid)).reshaped([c, points.count]).permuted([1, 0])  // (P, C)
        let labels = pointEmbed.weight.gatherRows(points.map { $0.positive ? 1 : 0 })
        var prompts = (sampled + labels).reshaped([1, points.count, c])
        var image = level.reshaped([1, c, g * g]).permuted([0, 2, 1])  // (1, N, C), position r * G + c
        Profiler.shared.measure("self-sampler layers") {
            for layer in layers { (image, prompts) = layer(image: image, prompts: prompts) }
        }
        return image.permuted([0, 2, 1]).reshaped([1, c, g, g])
    }
}
