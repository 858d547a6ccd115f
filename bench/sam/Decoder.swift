// Prompt encoder + mask decoder timing (the part that runs per prompt, after the image embedding), on the
// embedding and prompts that bench/mobilesam_torch.py --decoder times on the reference code.
import Diagnostics
import Foundation
import Formats
import SAM
import TensorCore

/// `SAM_BENCH_PRECISION` (fp32 or bf16), fp32 when unset.
func benchPrecision() throws -> GEMMPrecision {
    let text = ProcessInfo.processInfo.environment["SAM_BENCH_PRECISION"] ?? "fp32"
    guard let p = GEMMPrecision(rawValue: text) else { throw BenchError("SAM_BENCH_PRECISION must be fp32 or bf16, got \(text)") }
    return p
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func runDecoder(_ args: [String]) throws {
    guard args.count >= 2 else { throw BenchError("usage: sam-bench --decoder WEIGHTS.safetensors DECODER_INPUT.safetensors [runs]") }
    let runs = args.count > 2 ? Int(args[2]) ?? 50 : 50
    let (weights, _) = try SafeTensors.read(URL(fileURLWithPath: args[0]))
    let model = try SAMModel(weights, file: args[0]).inPrecision(benchPrecision())
    let (d, _) = try SafeTensors.read(URL(fileURLWithPath: args[1]))
    guard let e = d["embedding"], let p = d["points"], let l = d["labels"], let b = d["box"] else {
        throw BenchError("\(args[1]): needs embedding, points, labels, box (bench/mobilesam_torch.py --decoder writes it)")
    }
    let embedding = e.floatTensor, coords = p.floatTensor.data, labels = l.floatTensor.data, box = b.floatTensor.data
    let points = labels.indices.map { PromptPoint(x: coords[2 * $0], y: coords[2 * $0 + 1], label: Int(labels[$0])) }
    let promptBox = PromptBox(x0: box[0], y0: box[1], x1: box[2], y1: box[3])
    var times: [Double] = []
    var iou = Tensor.zeros([0])
    for i in 0...runs {
        let t0 = Date()
        iou = model.predict(embedding: embedding, points: points, box: promptBox, multimask: true).iou
        if i > 0 { times.append(Date().timeIntervalSince(t0)) }
    }
    times.sort()
    print(String(format: "toolkit decoder: median %.1f ms (min %.1f, max %.1f) over %d runs, %@; iou %@", median(times)! * 1000,
                 times.first! * 1000, times.last! * 1000, times.count, model.precision.rawValue,
                 iou.data.map { String(format: "%.4f", $0) }.joined(separator: " ")))
}
