import Foundation
import XCTest
import Formats
import SAM
import TensorCore

/// The SAM graph against the reference segment_anything code on the same random weights and inputs.
final class SAMParityTests: XCTestCase {
    func testConfigIsDetectedFromShapes() throws {
        let m = try SAMFixtures.model()
        XCTAssertEqual(m.config.encoder.imageSize, 128)
        XCTAssertEqual(m.config.encoder.embedDim, 64)
        XCTAssertEqual(m.config.encoder.heads, 2)
        XCTAssertEqual(m.config.encoder.windowSize, 3)
        XCTAssertEqual(m.config.encoder.globalAttentionBlocks, [1, 3])
        XCTAssertEqual(m.config.decoder.promptDim, 32)
    }

    func testImageEncoderAndBlockOutputs() throws {
        let model = try SAMFixtures.model()
        let (ref, _) = try SAMFixtures.outputs()
        let (embedding, taps) = model.encode(ref["encoder.input"]!, taps: [0, 1, 2, 3])
        assertParity(embedding, ref["encoder.embedding"], "image embedding")
        for (i, t) in taps.enumerated() { assertParity(t, ref["encoder.block\(i)"], "block \(i) output") }
    }

    func testImageEncoderGradients() throws {
        let model = try SAMFixtures.model(trainable: true)
        let (ref, _) = try SAMFixtures.outputs()
        let input = Variable(ref["encoder.input"]!, requiresGrad: true)
        let (embedding, _) = model.imageEncoder(input, taps: [])
        assertParity(embedding.value, ref["encoder.embedding"], "image embedding (recorded path)")
        embedding.backward(ref["encoder.grad_out"]!)
        assertParity(input.grad!, ref["encoder.grad.input"], "gradient wrt the input image")
        let params = Dictionary(uniqueKeysWithValues: model.imageEncoder.parameters.map { ($0.name, $0) })
        for key in ref.keys.sorted() where key.hasPrefix("encoder.grad.image_encoder.") {
            let name = String(key.dropFirst("encoder.grad.".count))
            assertParity(params[name]!.grad!, ref[key], "gradient wrt \(name)")
        }
    }

    func testPromptEncoderAndMaskDecoder() throws {
        let model = try SAMFixtures.model()
        let (ref, meta) = try SAMFixtures.outputs()
        assertParity(model.promptEncoder.densePositionalEncoding(), ref["dense_pe"], "dense positional encoding")
        let cases = try JSONSerialization.jsonObject(with: Data(meta["cases"]!.utf8)) as! [[String: Any]]
        XCTAssertEqual(cases.count, 5)
        for c in cases {
            let name = c["name"] as! String
            let p = prompts(c)
            let mask = (c["mask"] as! Bool) ? ref["mask_input"]! : nil
            let (sparse, dense) = Variable.noGrad { model.promptEncoder(points: p.points, box: p.box, mask: mask.map { Variable($0) }) }
            assertParity(sparse.value, ref["\(name).sparse"], "\(name): sparse embeddings")
            assertParity(dense.value, ref["\(name).dense"], "\(name): dense embeddings")
            let out = model.predict(embedding: ref["encoder.embedding"]!, points: p.points, box: p.box, maskInput: mask,
                                    multimask: c["multimask"] as! Bool)
            assertParity(out.lowResLogits, ref["\(name).low_res_logits"], "\(name): low-res logits")
            assertParity(out.iou, ref["\(name).iou"], "\(name): IoU predictions")
        }
    }

    func testMaskDecoderGradients() throws {
        let model = try SAMFixtures.model(trainable: true)
        let (ref, meta) = try SAMFixtures.outputs()
        let cases = try JSONSerialization.jsonObject(with: Data(meta["cases"]!.utf8)) as! [[String: Any]]
        let params = Dictionary(uniqueKeysWithValues: (model.maskDecoder.parameters + model.promptEncoder.parameters).map { ($0.name, $0) })
        for c in cases {
            let name = c["name"] as! String
            let p = prompts(c)
            params.values.forEach { $0.zeroGrad() }
            let embedding = Variable(ref["encoder.embedding"]!, requiresGrad: true)
            let mask = (c["mask"] as! Bool) ? Variable(ref["mask_input"]!) : nil
            let (sparse, dense) = model.promptEncoder(points: p.points, box: p.box, mask: mask)
            let out = model.maskDecoder(embedding: embedding, densePE: Variable(model.promptEncoder.densePositionalEncoding()),
                                        sparse: sparse, dense: dense, multimask: c["multimask"] as! Bool)
            out.masks.backward(ref["\(name).grad_out"]!)
            assertParity(embedding.grad!, ref["\(name).grad.embedding"], "\(name): gradient wrt the image embedding")
            for key in ref.keys.sorted() where key.hasPrefix("\(name).grad.") && key != "\(name).grad.embedding" {
                let param = String(key.dropFirst("\(name).grad.".count))
                guard let g = params[param]?.grad else { XCTFail("\(name): no gradient for \(param)"); continue }
                assertParity(g, ref[key], "\(name): gradient wrt \(param)")
            }
        }
    }

    func testPostprocessing() throws {
        let (ref, meta) = try SAMFixtures.outputs()
        let info = try JSONSerialization.jsonObject(with: Data(meta["postprocess"]!.utf8)) as! [String: [Int]]
        let masks = SAMPostprocessing.masks(ref["point.low_res_logits"]!, modelSize: 128,
                                            inputSize: (info["input_size"]![0], info["input_size"]![1]),
                                            originalSize: (info["original_size"]![0], info["original_size"]![1]))
        assertParity(masks, ref["postprocess.masks"], "post-processed masks")
    }

    private func prompts(_ c: [String: Any]) -> (points: [PromptPoint], box: PromptBox?) {
        var points: [PromptPoint] = []
        if let pts = c["points"] as? [[Double]], let labels = c["labels"] as? [Int] {
            points = zip(pts, labels).map { PromptPoint(x: Float($0[0]), y: Float($0[1]), label: $1) }
        }
        let box = (c["box"] as? [Double]).map { PromptBox(x0: Float($0[0]), y0: Float($0[1]), x1: Float($0[2]), y1: Float($0[3])) }
        return (points, box)
    }
}
