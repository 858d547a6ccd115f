import Diagnostics
import SAM
import SSMSAM
import TensorCore
import XCTest

/// The zero-shot baselines' prompts from a support mask, against brute force, and SAM run with them.
final class ZeroShotBaselineTests: XCTestCase {
    /// An irregular mask: two overlapping rectangles with a hole, one touching the image border.
    private func mask(width w: Int, height h: Int) -> [Bool] {
        (0..<(w * h)).map { p in
            let (x, y) = (p % w, p / w)
            let a = (2...11).contains(x) && (3...13).contains(y), b = (9...(w - 1)).contains(x) && (0...6).contains(y)
            let hole = (5...6).contains(x) && (7...8).contains(y)
            return (a || b) && !hole
        }
    }

    private let pre = SAMPreprocessing(modelSize: 128)

    func testDeepestPointIsTheMaximumOfTheExactDistanceTransform() throws {
        let (w, h) = (23, 17)
        let m = mask(width: w, height: h)
        // Brute force: squared distance to the nearest background pixel, the ring outside the image included.
        var best = (d: -1, x: 0, y: 0)
        for y in 0..<h { for x in 0..<w where m[y * w + x] {
            var d = Int.max
            for by in -1...h { for bx in -1...w {
                let outside = by < 0 || bx < 0 || by >= h || bx >= w
                if outside || !m[by * w + bx] { d = min(d, (bx - x) * (bx - x) + (by - y) * (by - y)) }
            } }
            if d > best.d { best = (d, x, y) }
        } }
        let p = try ZeroShotBaseline(.deepestPoint).prompts(supportMask: m, supportWidth: w, supportHeight: h, width: w, height: h, preprocessing: pre)
        XCTAssertEqual(p.points, [PromptPoint(x: Float(best.x), y: Float(best.y), label: 1)])
        XCTAssertTrue(p.multimask)
        XCTAssertNil(p.box)
        XCTAssertNil(p.maskInput)
    }

    func testBoxIsTheMasksInclusiveExtremes() throws {
        let (w, h) = (23, 17)
        let p = try ZeroShotBaseline(.box).prompts(supportMask: mask(width: w, height: h), supportWidth: w, supportHeight: h,
                                                   width: w, height: h, preprocessing: pre)
        XCTAssertEqual(p.box, PromptBox(x0: 2, y0: 0, x1: Float(w - 1), y1: 13))
        XCTAssertFalse(p.multimask)
        XCTAssertTrue(p.points.isEmpty)
    }

    func testMaskPromptIsTheFramedMaskAsLowResLogits() throws {
        // 64 x 32 resizes to 128 x 64 in the 128 frame; the padding below is background.
        let (w, h) = (64, 32)
        let m = (0..<(w * h)).map { p in (p % w) < 32 }  // the left half
        let p = try ZeroShotBaseline(.mask).prompts(supportMask: m, supportWidth: w, supportHeight: h, width: w, height: h, preprocessing: pre)
        let t = try XCTUnwrap(p.maskInput)
        XCTAssertEqual(t.shape, [1, 1, 32, 32])
        let l = ZeroShotBaseline.maskLogit
        XCTAssertEqual(t.data[0 * 32 + 0], l)       // inside
        XCTAssertEqual(t.data[0 * 32 + 20], -l)     // right half
        XCTAssertEqual(t.data[20 * 32 + 0], -l)     // padding
        XCTAssertEqual(t.data.filter { $0 == l }.count, 16 * 16)
        XCTAssertFalse(p.multimask)
    }

    func testASupportOfAnotherSizeIsResampledToTheQuery() throws {
        let small = mask(width: 23, height: 17)
        let big = SAMPreprocessing.nearestResampled(small, from: (23, 17), to: (46, 34))
        let a = try ZeroShotBaseline(.box).prompts(supportMask: small, supportWidth: 23, supportHeight: 17, width: 46, height: 34, preprocessing: pre)
        let b = try ZeroShotBaseline(.box).prompts(supportMask: big, supportWidth: 46, supportHeight: 34, width: 46, height: 34, preprocessing: pre)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.box, PromptBox(x0: 4, y0: 0, x1: 45, y1: 27))
    }

    func testEmptyOrMisshapedSupportMasksAreRefusedByName() {
        for kind in ZeroShotPrompt.allCases {
            XCTAssertThrowsError(try ZeroShotBaseline(kind).prompts(supportMask: [Bool](repeating: false, count: 12), supportWidth: 4,
                                                                     supportHeight: 3, width: 4, height: 3, preprocessing: pre)) {
                XCTAssertEqual(($0 as? ToolkitError)?.kind, .invalidArgument)
                XCTAssertTrue("\($0)".hasPrefix("support mask: is empty"), "\($0)")
            }
        }
        XCTAssertThrowsError(try ZeroShotBaseline(.box).prompts(supportMask: [true], supportWidth: 4, supportHeight: 3, width: 4,
                                                                height: 3, preprocessing: pre)) {
            XCTAssertEqual(($0 as? ToolkitError)?.kind, .mismatch)
        }
    }

    func testSAMRunsOnTheQueryWithEachPrompt() throws {
        let sam = try SSMSAMFixtures.base(tiny: false)
        var predictor = SAMPredictor(model: sam)
        let (w, h) = (40, 30)
        XCTAssertThrowsError(try ZeroShotBaseline(.box).predict(predictor, supportMask: [true], supportWidth: 1, supportHeight: 1)) {
            XCTAssertEqual(($0 as? ToolkitError)?.kind, .noImage)
        }
        let rgb = (0..<(w * h * 3)).map { UInt8(($0 * 37) % 251) }
        try predictor.setImage(rgb: rgb, width: w, height: h)
        let m = mask(width: 23, height: 17)
        var outputs: [Tensor] = []
        for kind in ZeroShotPrompt.allCases {
            let (logits, prompts) = try ZeroShotBaseline(kind).predict(predictor, supportMask: m, supportWidth: 23, supportHeight: 17)
            XCTAssertEqual(logits.shape, [1, 1, h, w], kind.rawValue)
            // The same as SAM's predictor given those prompts (the best mask when multimask).
            let direct = try predictor.predict(points: prompts.points, box: prompts.box, maskInput: prompts.maskInput, multimask: prompts.multimask)
            XCTAssertEqual(logits, direct.masks.narrow(axis: 1, start: direct.best, length: 1), kind.rawValue)
            outputs.append(logits)
        }
        XCTAssertNotEqual(outputs[0], outputs[1])
        XCTAssertNotEqual(outputs[1], outputs[2])
    }
}
