import XCTest
import TensorCore

/// The direct depthwise path of `conv2d` against the same convolution done channel by channel through
/// the general im2col + GEMM path, over strides, paddings and kernel shapes.
final class DepthwiseConvolutionTests: XCTestCase {
    func testMatchesPerChannelConvolution() {
        var rng = SystemRandomNumberGenerator()
        func random(_ shape: [Int]) -> Tensor { Tensor.zeros(shape).map { _ in Float.random(in: -1...1, using: &rng) } }
        for (k, stride, pad, h, w) in [(3, 1, 1, 9, 7), (3, 2, 1, 10, 11), (3, 2, 0, 9, 9), (5, 1, 2, 6, 8), (1, 3, 0, 7, 5), (3, 1, 3, 4, 4)] {
            let (n, c) = (2, 3)
            let x = random([n, c, h, w]), weight = random([c, 1, k, k]), bias = random([c])
            let direct = Tensor.conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (pad, pad), groups: c)
            let perChannel = Tensor.concat((0..<c).map { ch in
                Tensor.conv2d(x.narrow(axis: 1, start: ch, length: 1), weight: weight.narrow(axis: 0, start: ch, length: 1),
                              bias: bias.narrow(axis: 0, start: ch, length: 1), stride: (stride, stride), padding: (pad, pad))
            }, axis: 1)
            XCTAssertEqual(direct.shape, perChannel.shape, "kernel \(k) stride \(stride) pad \(pad)")
            let err = zip(direct.data, perChannel.data).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(err, 1e-5, "kernel \(k) stride \(stride) pad \(pad) on \(h)x\(w)")
        }
    }
}
