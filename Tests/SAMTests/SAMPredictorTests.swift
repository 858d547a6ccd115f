import Diagnostics
import Foundation
import SAM
import TensorCore
import XCTest

/// `SAMPredictor` is the pipeline (preprocess, encode, prompt transform, decode, postprocess) and nothing
/// else: on the fixture model it gives exactly what the steps give by hand, and it refuses bad prompts.
final class SAMPredictorTests: XCTestCase {
    /// A deterministic, non-square RGB image (padding and cropping both matter).
    static func image(width: Int = 45, height: Int = 30) -> [UInt8] {
        (0..<width * height * 3).map { i in
            let (p, c) = (i / 3, i % 3)
            let (x, y) = (p % width, p / width)
            return UInt8((x * 7 + y * 13 + c * 50 + (x * y) % 17) % 256)
        }
    }

    /// The same steps without the predictor.
    static func manual(_ model: SAMModel, rgb: [UInt8], width: Int, height: Int, points: [PromptPoint], box: PromptBox?,
                       maskInput: Tensor? = nil, multimask: Bool) throws -> (masks: Tensor, low: Tensor, iou: Tensor, best: Int) {
        let pre = SAMPreprocessing(modelSize: model.imageEncoder.inputSize)
        let (input, resized) = try pre.modelInput(rgb: rgb, width: width, height: height)
        let embedding = model.encode(input).embedding
        let (low, iou) = model.predict(embedding: embedding,
                                       points: points.map { pre.transform($0, originalHeight: height, originalWidth: width) },
                                       box: box.map { pre.transform($0, originalHeight: height, originalWidth: width) },
                                       maskInput: maskInput, multimask: multimask)
        let masks = SAMPostprocessing.masks(low, modelSize: model.imageEncoder.inputSize, inputSize: resized, originalSize: (height, width))
        return (masks, low, iou, SAMPostprocessing.bestMaskIndex(iou))
    }

    func testEqualsTheManualPipelineExactly() throws {
        let model = try SAMFixtures.model()
        let rgb = Self.image()
        var predictor = SAMPredictor(model: model)
        try predictor.setImage(rgb: rgb, width: 45, height: 30)
        XCTAssertEqual(predictor.originalSize.height, 30)
        XCTAssertEqual(predictor.originalSize.width, 45)
        let resized = SAMPreprocessing(modelSize: model.imageEncoder.inputSize).resizedSize(height: 30, width: 45)
        XCTAssertEqual(predictor.inputSize.height, resized.height)
        XCTAssertEqual(predictor.inputSize.width, resized.width)

        let cases: [([PromptPoint], PromptBox?, Bool)] = [
            ([PromptPoint(x: 12.5, y: 7)], nil, true),
            ([PromptPoint(x: 30, y: 20), PromptPoint(x: 3, y: 28.5, label: 0)], nil, false),
            ([PromptPoint(x: 20, y: 15)], PromptBox(x0: 5, y0: 4, x1: 40, y1: 26), true),
            ([], PromptBox(x0: 0, y0: 0, x1: 44.5, y1: 29.5), false),
        ]
        for (points, box, multimask) in cases {
            let p = try predictor.predict(points: points, box: box, multimask: multimask)
            let m = try Self.manual(model, rgb: rgb, width: 45, height: 30, points: points, box: box, multimask: multimask)
            XCTAssertEqual(p.masks, m.masks, "\(points) \(String(describing: box))")
            XCTAssertEqual(p.lowResLogits, m.low)
            XCTAssertEqual(p.iou, m.iou)
            XCTAssertEqual(p.best, m.best)
            XCTAssertEqual(p.masks.shape, [1, multimask ? 3 : 1, 30, 45])
            for k in 0..<p.iou.count {
                XCTAssertEqual(p.mask(k), m.masks.narrow(axis: 1, start: k, length: 1).data.map { $0 > 0 })
            }
            // The embedding is kept: the same prompts again give the same masks.
            XCTAssertEqual(try predictor.predict(points: points, box: box, multimask: multimask).masks, p.masks)
        }

        // An earlier prediction's low-res logits as the mask prompt.
        let first = try predictor.predict(points: [PromptPoint(x: 12.5, y: 7)])
        let maskInput = first.lowResLogits.narrow(axis: 1, start: first.best, length: 1)
        let refined = try predictor.predict(points: [PromptPoint(x: 12.5, y: 7)], maskInput: maskInput, multimask: false)
        let m = try Self.manual(model, rgb: rgb, width: 45, height: 30, points: [PromptPoint(x: 12.5, y: 7)], box: nil,
                                maskInput: maskInput, multimask: false)
        XCTAssertEqual(refined.masks, m.masks)
        XCTAssertEqual(refined.iou, m.iou)
    }

    func testANewImageReplacesTheEmbedding() throws {
        let model = try SAMFixtures.model()
        var predictor = SAMPredictor(model: model)
        try predictor.setImage(rgb: Self.image(), width: 45, height: 30)
        let rgb = Self.image(width: 20, height: 36)
        try predictor.setImage(rgb: rgb, width: 20, height: 36)
        let pre = SAMPreprocessing(modelSize: model.imageEncoder.inputSize)
        XCTAssertEqual(predictor.embedding, model.encode(try pre.modelInput(rgb: rgb, width: 20, height: 36).input).embedding)
        let p = try predictor.predict(points: [PromptPoint(x: 10, y: 30)])
        XCTAssertEqual(p.masks.shape, [1, 3, 36, 20])
        let m = try Self.manual(model, rgb: rgb, width: 20, height: 36, points: [PromptPoint(x: 10, y: 30)], box: nil, multimask: true)
        XCTAssertEqual(p.masks, m.masks)
    }

    private func assertError(_ kind: ToolkitError.Kind, _ description: String, _ body: () throws -> Void,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? ToolkitError else { return XCTFail("not a ToolkitError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertEqual(e.description, description, file: file, line: line)
        }
    }

    func testClearErrors() throws {
        var predictor = SAMPredictor(model: try SAMFixtures.model())
        assertError(.noImage, "SAMPredictor: predict needs an image: call setImage first") {
            _ = try predictor.predict(points: [PromptPoint(x: 1, y: 1)])
        }
        assertError(.invalidArgument, "600 bytes for a 45 x 30 RGB image, expected 4050") {
            try predictor.setImage(rgb: [UInt8](repeating: 0, count: 600), width: 45, height: 30)
        }
        XCTAssertNil(predictor.embedding, "a failed setImage leaves no image")
        try predictor.setImage(rgb: Self.image(), width: 45, height: 30)
        XCTAssertThrowsError(try predictor.setImage(rgb: [], width: 0, height: 0))
        assertError(.noImage, "SAMPredictor: predict needs an image: call setImage first") {
            _ = try predictor.predict(points: [PromptPoint(x: 1, y: 1)])
        }

        try predictor.setImage(rgb: Self.image(), width: 45, height: 30, name: "slice.png")
        assertError(.invalidArgument, "slice.png: point (45.0, 3.0) is outside the 45 x 30 image") {
            _ = try predictor.predict(points: [PromptPoint(x: 2, y: 2), PromptPoint(x: 45, y: 3)])
        }
        assertError(.invalidArgument, "slice.png: point (-0.5, 3.0) is outside the 45 x 30 image") {
            _ = try predictor.predict(points: [PromptPoint(x: -0.5, y: 3)])
        }
        assertError(.invalidArgument, "slice.png: point (nan, 3.0) is outside the 45 x 30 image") {
            _ = try predictor.predict(points: [PromptPoint(x: .nan, y: 3)])
        }
        assertError(.invalidArgument, "slice.png: box corner (44.0, 30.0) is outside the 45 x 30 image") {
            _ = try predictor.predict(box: PromptBox(x0: 1, y0: 1, x1: 44, y1: 30))
        }
        assertError(.invalidArgument, "slice.png: point (2.0, 2.0) has label 2, expected 1 (foreground), 0 (background) or -1 (padding: not a point)") {
            _ = try predictor.predict(points: [PromptPoint(x: 2, y: 2, label: 2)])
        }
        assertError(.invalidArgument, "slice.png: box (30.0, 20.0, 10.0, 5.0) is inverted: expected X0 <= X1 and Y0 <= Y1 (top-left corner first)") {
            _ = try predictor.predict(box: PromptBox(x0: 30, y0: 20, x1: 10, y1: 5))
        }
        // SAM's padding label -1 ("not a point") is accepted, wherever its coordinates are: it is the same prompt
        // as the padding point SAM adds itself, so with a box the outputs are those of the box alone.
        let boxOnly = try predictor.predict(box: PromptBox(x0: 5, y0: 5, x1: 20, y1: 15))
        let padded = try predictor.predict(points: [PromptPoint(x: -7, y: 99, label: -1)], box: PromptBox(x0: 5, y0: 5, x1: 20, y1: 15))
        XCTAssertNotEqual(boxOnly.lowResLogits.data, padded.lowResLogits.data)  // one more token: not the same prompt set
        XCTAssertEqual(padded.lowResLogits.shape, boxOnly.lowResLogits.shape)
        let side = 4 * predictor.model.promptEncoder.gridSize
        assertError(.mismatch, "slice.png: mask input must be 1 x 1 x \(side) x \(side) low-res logits, got [1, 3, \(side), \(side)]") {
            _ = try predictor.predict(points: [PromptPoint(x: 2, y: 2)], maskInput: Tensor.zeros([1, 3, side, side]))
        }
        // The same checks before any image, for callers that check prompts before encoding.
        assertError(.invalidArgument, "image: box corner (9.0, 1.0) is outside the 8 x 8 image") {
            try SAMPredictor.checkPrompts(points: [PromptPoint(x: 7, y: 7)], box: PromptBox(x0: 9, y0: 1, x1: 2, y1: 2), width: 8, height: 8)
        }
        XCTAssertNoThrow(try SAMPredictor.checkPrompts(points: [PromptPoint(x: 7.9, y: 0, label: 0)], box: nil, width: 8, height: 8))
    }
}
