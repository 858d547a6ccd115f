import Foundation
import XCTest
import Formats
import SAM
import TensorCore

/// The official MobileSAM checkpoint against the reference code's outputs on a real CT slice and a
/// natural-looking image (Fixtures/mobilesam_real.safetensors). The weights are not in the repository:
/// these tests skip with a message when the converted checkpoint is absent, and fail in CI (see MobileSAMFixtures).
final class MobileSAMCheckpointTests: XCTestCase {
    /// One model for both cases (loading and encoding at 1024 is the slow part).
    static var model: SAMModel?

    func testCheckpointIsDetectedAsMobileSAM() throws {
        let model = try Self.loadedModel()
        XCTAssertEqual(model.config.preset, "mobile_sam")
        XCTAssertEqual(model.config, { var c = SAMConfig.preset("mobile_sam")!; c.preset = "mobile_sam"; return c }())
    }

    func testCTSlice() throws { try check("ct") }

    func testNaturalImage() throws { try check("natural") }

    static func loadedModel() throws -> SAMModel {
        if let m = model { return m }
        let m = try MobileSAMFixtures.realModel()
        model = m
        return m
    }

    /// Embedding (subsampled and pooled), low-res logits and IoU within 1e-3 of the largest reference
    /// magnitude; binary masks (low-res and at the original size) with IoU >= 0.999.
    private func check(_ name: String) throws {
        let model = try Self.loadedModel()
        let (ref, stored, meta) = try MobileSAMFixtures.tensors("mobilesam_real.safetensors")
        let cases = try JSONSerialization.jsonObject(with: Data(meta["cases"]!.utf8)) as! [String: [String: Any]]
        let info = try XCTUnwrap(cases[name])
        let image = try XCTUnwrap(stored["\(name).image"])
        XCTAssertEqual(image.dtype, .u8)
        let (h, w) = (image.shape[0], image.shape[1])
        let pre = SAMPreprocessing(modelSize: model.config.encoder.imageSize)
        let (input, resized) = try pre.modelInput(rgb: [UInt8](image.bytes), width: w, height: h)

        let embedding = model.encode(input).embedding
        XCTAssertEqual(embedding.shape, [1, 256, 64, 64])
        let strided = subsample(embedding, step: 8), pooled = averagePool(embedding, size: 8)
        report("\(name) embedding[:, :, ::8, ::8]", strided, ref["\(name).embedding_strided"]!)
        report("\(name) embedding 8x8 average", pooled, ref["\(name).embedding_pooled"]!)
        assertParity(strided, ref["\(name).embedding_strided"], tolerance: 1e-3, "\(name): embedding[:, :, ::8, ::8]")
        assertParity(pooled, ref["\(name).embedding_pooled"], tolerance: 1e-3, "\(name): embedding, 8x8 average pooled")

        let p = info["point"] as! [Double]
        let pt = pre.transform(x: Float(p[0]), y: Float(p[1]), originalHeight: h, originalWidth: w)
        let out = model.predict(embedding: embedding, points: [PromptPoint(x: pt.x, y: pt.y, label: 1)], multimask: false)
        let refLogits = ref["\(name).low_res_logits"]!
        report("\(name) low-res logits", out.lowResLogits, refLogits)
        assertParity(out.lowResLogits, refLogits, tolerance: 1e-3, "\(name): low-res logits")
        assertParity(out.iou, ref["\(name).iou"], tolerance: 1e-3, "\(name): IoU prediction")

        let lowIoU = maskIoU(out.lowResLogits.data.map { $0 > 0 }, refLogits.data.map { $0 > 0 })
        let full = SAMPostprocessing.masks(out.lowResLogits, modelSize: pre.modelSize, inputSize: (resized.height, resized.width),
                                           originalSize: (h, w))
        let refMask = ref["\(name).mask"]!
        XCTAssertEqual(full.shape, [1, 1, h, w])
        let fullIoU = maskIoU(full.data.map { $0 > 0 }, refMask.data.map { $0 > 0 })
        print("MobileSAM parity \(name): low-res mask IoU \(lowIoU), mask IoU at \(h)x\(w) \(fullIoU) (\(refMask.data.filter { $0 > 0 }.count) reference pixels)")
        XCTAssertGreaterThanOrEqual(lowIoU, 0.999, "\(name): low-res binary mask IoU")
        XCTAssertGreaterThanOrEqual(fullIoU, 0.999, "\(name): binary mask IoU at the original size")
    }

    private func report(_ what: String, _ a: Tensor, _ b: Tensor) {
        let err = zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0
        print("MobileSAM parity \(what): max abs error \(err), relative to max magnitude \(err / max(b.maxAbs, 1e-12))")
    }

    /// x[:, :, ::step, ::step] of (1, C, H, W).
    private func subsample(_ x: Tensor, step: Int) -> Tensor {
        let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = ((h + step - 1) / step, (w + step - 1) / step)
        var out = Tensor.zeros([1, c, oh, ow])
        for ch in 0..<c { for y in 0..<oh { for xx in 0..<ow {
            out.data[(ch * oh + y) * ow + xx] = x.data[(ch * h + y * step) * w + xx * step]
        } } }
        return out
    }

    /// `F.avg_pool2d(x, size)` of (1, C, H, W).
    private func averagePool(_ x: Tensor, size: Int) -> Tensor {
        let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (h / size, w / size)
        var out = Tensor.zeros([1, c, oh, ow])
        for ch in 0..<c { for y in 0..<h { for xx in 0..<w {
            out.data[(ch * oh + y / size) * ow + xx / size] += x.data[(ch * h + y) * w + xx] / Float(size * size)
        } } }
        return out
    }
}
