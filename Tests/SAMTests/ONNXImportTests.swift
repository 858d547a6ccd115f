import Foundation
import TestSupport
import XCTest
@testable import Formats
@testable import SAM
import TensorCore

/// ONNX exports of a tiny SAM made the usual ways (scripts/make_onnx_fixtures.py: the image encoder and
/// segment_anything's SamOnnxModel, each through torch's TorchScript and dynamo exporters) give back the
/// `.pth`'s weights and the reference outputs of torch and onnxruntime.
final class ONNXImportTests: XCTestCase {
    static let directory = SAMFixtures.directory.appendingPathComponent("onnx")
    static let exporters = ["legacy", "dynamo"]

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func reference() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in try SafeTensors.read(url("reference.safetensors")).0.entries { out[k] = v.floatTensor }
        return out
    }

    private func pth() throws -> StateDict { try CheckpointReader.read(Self.url("sam_tiny.pth")).tensors }

    /// Each exporter's `part` export holds exactly the `.pth`'s tensors under `prefixes`, bit for bit, and nothing unplaced.
    private func assertRecovers(_ part: String, _ prefixes: [String], encoder: Bool) throws {
        let sd = try pth()
        let expected = sd.names.filter { name in prefixes.contains { name.hasPrefix($0) } }
        for exporter in Self.exporters {
            let r = try SAMONNXImport.read(Self.url("\(part)_\(exporter).onnx"))
            XCTAssertEqual(r.unmatched, [], exporter)
            XCTAssertEqual(Set(r.weights.names), Set(expected), exporter)
            for name in expected { XCTAssertEqual(r.weights[name], sd[name], "\(exporter): \(name)") }
            XCTAssertEqual([r.hasEncoder, r.hasDecoder], [encoder, !encoder], exporter)
        }
    }

    func testEncoderExportsGiveThePthEncoderWeights() throws { try assertRecovers("encoder", ["image_encoder."], encoder: true) }

    func testDecoderExportsGiveThePthPromptEncoderAndMaskDecoderWeights() throws {
        try assertRecovers("decoder", ["prompt_encoder.", "mask_decoder."], encoder: false)
    }

    /// Every pairing of the exports runs like the `.pth` (bit for bit: the same weights) and like torch.
    func testModelsFromExportsMatchThePthAndTorch() throws {
        let ref = try Self.reference()
        let fromPth = try SAMModelStore.load(Self.url("sam_tiny.pth").path)
        let input = try XCTUnwrap(ref["encoder.input"])
        let points = [PromptPoint(x: 20, y: 30, label: 1), PromptPoint(x: 40, y: 12, label: 0)]
        let pthEmbedding = fromPth.encode(input).embedding
        let pthLow = fromPth.predict(embedding: pthEmbedding, points: points, multimask: true)
        for encoder in Self.exporters {
            for decoder in Self.exporters {
                let what = "encoder_\(encoder) + decoder_\(decoder)"
                let sam = try SAMModelStore.load(Self.url("encoder_\(encoder).onnx").path, decoder: Self.url("decoder_\(decoder).onnx").path)
                XCTAssertEqual(sam.config, fromPth.config, what)
                let embedding = sam.encode(input).embedding
                XCTAssertEqual(embedding, pthEmbedding, what)
                assertParity(embedding, ref["encoder.embedding"], "\(what): embedding vs torch")
                assertParity(embedding, ref["encoder.embedding.ort_\(encoder)"], "\(what): embedding vs onnxruntime")
                let multi = sam.predict(embedding: embedding, points: points, multimask: true)
                XCTAssertEqual(multi.lowResLogits, pthLow.lowResLogits, what)
                assertParity(multi.lowResLogits, ref["prompt.low_res_logits"], "\(what): logits vs torch")
                assertParity(multi.iou, ref["prompt.iou"], "\(what): IoU vs torch")
                // SamOnnxModel with return_single_mask picks the single-mask output for 3 points (2 + padding).
                let single = sam.predict(embedding: try XCTUnwrap(ref["encoder.embedding"]), points: points, multimask: false)
                assertParity(single.lowResLogits, ref["prompt.ort_legacy.low_res_logits"], "\(what): logits vs onnxruntime")
                assertParity(single.iou, ref["prompt.ort_legacy.iou"], "\(what): IoU vs onnxruntime")
            }
        }
    }

    func testAnEncoderExportAloneEncodes() throws {
        let ref = try Self.reference()
        for exporter in Self.exporters {
            let encoder = try SAMModelStore.loadImageEncoder(Self.url("encoder_\(exporter).onnx").path)
            assertParity(encoder.encode(try XCTUnwrap(ref["encoder.input"])).embedding, ref["encoder.embedding"], exporter)
        }
    }

    /// A file that is not SAM, or half of SAM where a whole one is needed: one short line naming the file.
    func testWrongExportsFailWithOneShortLine() throws {
        let cases: [(() throws -> Any, String, String)] = [
            ({ try SAMModelStore.load(Self.url("not_sam.onnx").path) }, "not_sam.onnx", "not an ONNX export of SAM"),
            ({ try SAMModelStore.load(Self.url("encoder_legacy.onnx").path) }, "encoder_legacy.onnx", "give those with --decoder"),
            ({ try SAMModelStore.load(Self.url("decoder_dynamo.onnx").path) }, "decoder_dynamo.onnx", "give it as --decoder"),
            ({ try SAMModelStore.loadImageEncoder(Self.url("decoder_legacy.onnx").path) }, "decoder_legacy.onnx", "give it as --decoder"),
            ({ try SAMModelStore.load(Self.url("encoder_dynamo.onnx").path, decoder: Self.url("not_sam.onnx").path) }, "not_sam.onnx", "not an ONNX export of SAM"),
            ({ try SAMModelStore.load(Self.url("encoder_legacy.onnx").path, preset: "vit_b", decoder: Self.url("decoder_legacy.onnx").path) },
             "encoder_legacy.onnx", "--preset vit_b does not fit these weights"),
        ]
        for (body, file, message) in cases {
            XCTAssertThrowsError(try body()) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains(file) && text.contains(message), text)
                XCTAssertFalse(text.contains("\n"), text)
                XCTAssertLessThan(text.count, 400, text)
            }
        }
    }

    /// The rules that place folded tensors, on the pieces they act on.
    func testFoldedRelativePositionTableIsUnfolded() throws {
        // rel_pos (5, 2) folded as rel_pos[q - k + 2] for q, k < 3.
        let table: [Float] = (0..<10).map { Float($0) }
        var folded: [Float] = []
        for q in 0..<3 { for k in 0..<3 { folded += table[(q - k + 2) * 2 ..< (q - k + 3) * 2] } }
        let t = StoredTensor(Tensor(shape: [3, 3, 2], data: folded))
        XCTAssertEqual(try SAMONNXImport.relativeTable(t, name: "index").floatTensor, Tensor(shape: [5, 2], data: table))
        folded[0] += 1   // rows along a diagonal must agree
        XCTAssertThrowsError(try SAMONNXImport.relativeTable(StoredTensor(Tensor(shape: [3, 3, 2], data: folded)), name: "index"))
        XCTAssertEqual(SAMONNXImport.nextInSequence("prompt_encoder.mask_downscaling.3.weight"), "prompt_encoder.mask_downscaling.4")
        XCTAssertEqual(SAMONNXImport.officialName("model.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"), "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix")
        XCTAssertEqual(SAMONNXImport.officialName("blocks.1.attn.qkv.weight"), "image_encoder.blocks.1.attn.qkv.weight")
        XCTAssertEqual(SAMONNXImport.officialName("transformer.layers.0.norm1.weight"), "mask_decoder.transformer.layers.0.norm1.weight")
    }
}

/// `encode` and `segment` with ONNX exports, as a user runs them: the same files as with the `.pth`.
final class ONNXCLITests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        try SSMSAMProcess.run(args, near: Bundle(for: Self.self))
    }

    private func fixture(_ name: String) -> String { ONNXImportTests.url(name).path }

    /// Runs `segment` and `encode` with `model` (+ `decoder`), returning the logits and embedding files' bytes.
    private func outputs(_ label: String, model: String, decoder: String?) throws -> (logits: Data, embedding: Data) {
        let logits = work.appendingPathComponent("\(label).npy").path, embedding = work.appendingPathComponent("\(label)-e.npy").path
        let s = try run(["segment", "--model", model] + (decoder.map { ["--decoder", $0] } ?? []) + ["--image", fixture("image.png"),
                         "--point", "20,30", "--point", "40,12,0", "--out", work.appendingPathComponent("\(label).png").path, "--logits", logits])
        XCTAssertEqual(s.code, 0, "\(label): \(s.err)")
        let e = try run(["encode", "--model", model, "--image", fixture("image.png"), "--out", embedding])
        XCTAssertEqual(e.code, 0, "\(label): \(e.err)")
        return (try Data(contentsOf: URL(fileURLWithPath: logits)), try Data(contentsOf: URL(fileURLWithPath: embedding)))
    }

    func testExportsRunLikeThePth() throws {
        let expected = try outputs("pth", model: fixture("sam_tiny.pth"), decoder: nil)
        for encoder in ONNXImportTests.exporters {
            for decoder in ONNXImportTests.exporters {
                let got = try outputs("\(encoder)-\(decoder)", model: fixture("encoder_\(encoder).onnx"), decoder: fixture("decoder_\(decoder).onnx"))
                XCTAssertEqual(got.logits, expected.logits, "\(encoder) + \(decoder): logits")
                XCTAssertEqual(got.embedding, expected.embedding, "\(encoder): embedding")
            }
        }
        // A .pth's encoder with an exported decoder.
        let mixed = try outputs("pth-dynamo", model: fixture("sam_tiny.pth"), decoder: fixture("decoder_dynamo.onnx"))
        XCTAssertEqual(mixed.logits, expected.logits)
    }

    /// `convert ENC.onnx OUT.safetensors --decoder DEC.onnx`: one native checkpoint (official names, its config
    /// beside it) that runs like the .pth; an encoder export alone converts with official names too, and an ONNX
    /// that is not SAM keeps its generic names.
    func testConvertMakesOneCheckpointOfTheTwoExports() throws {
        let expected = try outputs("pth", model: fixture("sam_tiny.pth"), decoder: nil)
        let reference = try CheckpointReader.read(URL(fileURLWithPath: fixture("sam_tiny.pth"))).tensors
        for exporter in ONNXImportTests.exporters {
            let out = work.appendingPathComponent("sam-\(exporter).safetensors")
            let c = try run(["convert", fixture("encoder_\(exporter).onnx"), out.path, "--decoder", fixture("decoder_\(exporter).onnx")])
            XCTAssertEqual(c.code, 0, c.err)
            XCTAssertTrue(FileManager.default.fileExists(atPath: work.appendingPathComponent("sam-\(exporter).json").path), c.out)
            let converted = try CheckpointReader.read(out).tensors
            XCTAssertEqual(Set(converted.names).subtracting(reference.names), [], exporter)
            let got = try outputs("converted-\(exporter)", model: out.path, decoder: nil)
            XCTAssertEqual(got.logits, expected.logits, "\(exporter): logits")
            XCTAssertEqual(got.embedding, expected.embedding, "\(exporter): embedding")

            let encoderOnly = work.appendingPathComponent("enc-\(exporter).safetensors")
            let e = try run(["convert", fixture("encoder_\(exporter).onnx"), encoderOnly.path])
            XCTAssertEqual(e.code, 0, e.err)
            XCTAssertTrue(e.err.contains("an ONNX export of SAM's image encoder; official names recovered"), e.err)
            let names = try CheckpointReader.read(encoderOnly).tensors.names
            XCTAssertTrue(!names.isEmpty && names.allSatisfy { $0.hasPrefix("image_encoder.") && reference[$0] != nil }, "\(names.prefix(5))")
        }
        let other = work.appendingPathComponent("other.safetensors")
        let n = try run(["convert", fixture("not_sam.onnx"), other.path])
        XCTAssertEqual(n.code, 0, n.err)
        XCTAssertEqual(try CheckpointReader.read(other).tensors.names.sorted(),
                       try CheckpointReader.read(URL(fileURLWithPath: fixture("not_sam.onnx"))).tensors.names.sorted())

        let z = try SSMSAMProcess.run(["zoo", "add", fixture("encoder_legacy.onnx"), "--id", "test/onnx", "--version", "1.0.0"],
                                      near: Bundle(for: Self.self), environment: ["SSMSAM_ZOO": work.appendingPathComponent("zoo").path])
        XCTAssertEqual(z.code, 1)
        XCTAssertTrue(z.err.contains("make one checkpoint of both exports first: ssmsam convert ENCODER.onnx sam.safetensors --decoder DECODER.onnx"), z.err)
    }

    func testNotSAMIsOneShortLine() throws {
        let r = try run(["segment", "--model", fixture("not_sam.onnx"), "--image", fixture("image.png"), "--point", "20,30",
                         "--out", work.appendingPathComponent("m.png").path])
        XCTAssertEqual(r.code, 1)
        let lines = r.err.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.err)
        XCTAssertTrue(r.err.contains("not_sam.onnx: not an ONNX export of SAM") && r.err.contains("found 4 named weights"), r.err)
        let e = try run(["encode", "--model", fixture("encoder_legacy.onnx"), "--decoder", fixture("decoder_legacy.onnx"),
                         "--image", fixture("image.png"), "--out", work.appendingPathComponent("e.npy").path])
        XCTAssertEqual(e.code, 64)   // a validation error: with encode's own usage, not the root's
        XCTAssertTrue(e.err.contains("--decoder is not used by encode") && e.err.contains("Usage: ssmsam encode --model"), e.err)
        XCTAssertFalse(e.err.contains("<subcommand>"), e.err)
    }
}
