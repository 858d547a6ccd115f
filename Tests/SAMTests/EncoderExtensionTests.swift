import Formats
import NN
import SAM
import TensorCore
import XCTest

/// The encoder's extension points against the reference (scripts/make_encoder_grad_fixtures.py): tokens
/// injected at every block, the neck on four taps, gradients through the frozen encoder.
final class EncoderExtensionTests: XCTestCase {
    private func injectionStep(recompute: Bool) throws -> (loss: Float, grad: Tensor, ref: StateDict) {
        let model = try SAMFixtures.model()  // frozen
        let (ref, _) = try SAMFixtures.file("encoder_injection_grad.safetensors")
        let encoder = try XCTUnwrap(model.imageEncoder as? ImageEncoderViT)
        let tokenTable = ref["tokens"]!.floatTensor, weights = ref["tap_weights"]!.floatTensor
        let depth = encoder.blocks.count
        let tokens = Variable(tokenTable, requiresGrad: true)
        let perBlock = tokens.split(sizes: [Int](repeating: 1, count: depth), axis: 0).map { $0.reshaped(Array(tokenTable.shape.dropFirst())) }
        let tapWeights = Variable(weights).split(sizes: [Int](repeating: 1, count: depth), axis: 0)
            .map { $0.reshaped(Array(weights.shape.dropFirst())) }
        let pass = encoder.blocks(encoder.patchTokens(Variable(ref["image"]!.floatTensor)), injection: { perBlock[$0] },
                                  taps: Array(0..<depth), recompute: recompute)
        let terms = zip(pass.taps, tapWeights).map { tap, w in (encoder.neck(tokens: tap) * w).sum() }
        let loss = terms.dropFirst().reduce(terms[0], +)
        loss.backward()
        XCTAssertTrue(encoder.parameters.allSatisfy { $0.grad == nil }, "the frozen encoder's parameters get no gradient")
        return (loss.value.scalar, tokens.grad!, ref)
    }

    func testGradientsWithRespectToInjectedTokensMatchTorch() throws {
        let r = try injectionStep(recompute: false)
        XCTAssertEqual(r.loss, r.ref["loss"]!.floatTensor.data[0], accuracy: 1e-4 * abs(r.ref["loss"]!.floatTensor.data[0]) + 1e-5)
        assertParity(r.grad, r.ref["grad.tokens"]!.floatTensor, tolerance: 1e-4, "d loss / d injected tokens")
    }

    func testRecomputedBlocksGiveTheSameGradients() throws {
        let plain = try injectionStep(recompute: false), recomputed = try injectionStep(recompute: true)
        XCTAssertEqual(plain.loss, recomputed.loss)
        XCTAssertEqual(plain.grad, recomputed.grad, "recomputing each block in the backward must not change any gradient")
        assertParity(recomputed.grad, recomputed.ref["grad.tokens"]!.floatTensor, tolerance: 1e-4, "recomputed: d loss / d tokens")
    }

    func testRecomputeDeliversParameterGradientsToo() throws {
        // Unfrozen blocks under recompute: each parameter receives the gradient of the plain graph.
        let model = try SAMFixtures.model(trainable: true)
        let encoder = try XCTUnwrap(model.imageEncoder as? ImageEncoderViT)
        let (ref, _) = try SAMFixtures.file("encoder_injection_grad.safetensors")
        let image = Variable(ref["image"]!.floatTensor)
        let used = encoder.parameters.filter { !$0.name.contains(".neck.") }  // the neck is not run here
        func grads(_ recompute: Bool) -> [Tensor?] {
            encoder.zeroGrad()
            let out = encoder.blocks(encoder.patchTokens(image), taps: [], recompute: recompute).output
            (out * out).mean().backward()
            return used.map(\.grad)
        }
        let plain = grads(false), recomputed = grads(true)
        XCTAssertTrue(plain.allSatisfy { $0 != nil })
        for (i, (a, b)) in zip(plain, recomputed).enumerated() {
            XCTAssertEqual(a, b, "parameter \(used[i].name)")
        }
    }

    func testForwardPiecesComposeToTheWholeEncoder() throws {
        let model = try SAMFixtures.model()
        let encoder = try XCTUnwrap(model.imageEncoder as? ImageEncoderViT)
        let (ref, _) = try SAMFixtures.outputs()
        let input = ref["encoder.input"]!
        let whole = model.encode(input, taps: [1]).embedding
        let pieces = Variable.noGrad { () -> Tensor in
            let pass = encoder.blocks(encoder.patchTokens(Variable(input)), injection: { _ in nil }, taps: [1])
            return encoder.neck(tokens: pass.output).value
        }
        XCTAssertEqual(whole, pieces)
    }

    func testTinyViTInjectionAddsToEachBlockInput() throws {
        let model = try MobileSAMFixtures.smallModel()
        let encoder = try XCTUnwrap(model.imageEncoder as? ImageEncoderTinyViT)
        let (ref, _, _) = try MobileSAMFixtures.tensors("mobilesam_small_outputs.safetensors")
        let input = Variable(ref["encoder.input"]!)
        let base = Variable.noGrad { encoder.blocks(input, taps: encoder.stageEnds) }
        XCTAssertEqual(base.taps.count, 4)
        // Zero injections change nothing; a non-zero one at the last block shifts that block's input.
        let zero = Variable.noGrad { encoder.blocks(input, injection: { _ in nil }, taps: encoder.stageEnds) }
        XCTAssertEqual(zero.output.value, base.output.value)
        let last = encoder.blockCount - 1
        let tokens = Variable(Tensor(shape: [1] + Array(base.output.shape.dropFirst()), repeating: 0.5), requiresGrad: true)
        let shifted = encoder.blocks(input, injection: { $0 == last ? tokens : nil }, taps: [])
        XCTAssertNotEqual(shifted.output.value, base.output.value)
        encoder.neck(tokens: shifted.output).sum().backward()
        XCTAssertGreaterThan(tokens.grad?.maxAbs ?? 0, 0)
    }
}
