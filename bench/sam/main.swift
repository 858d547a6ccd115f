// SAM image encoder timing on the toolkit: median of N runs, GFLOP/s; for a TinyViT (MobileSAM) also the
// time of each stage in one extra run.
// Run: swift run -c release sam-bench WEIGHTS.safetensors INPUT.safetensors [runs]
// (bench/mobilesam.sh runs it next to PyTorch on MobileSAM's weights and input.)
import Foundation
import Formats
import SAM
import TensorCore

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write("usage: sam-bench WEIGHTS.safetensors INPUT.safetensors [runs]\n".data(using: .utf8)!)
    exit(2)
}
let runs = args.count > 3 ? Int(args[3]) ?? 3 : 3
let (weights, _) = try SafeTensors.read(URL(fileURLWithPath: args[1]))
let model = try SAMModel(weights, file: args[1])
let (inputs, _) = try SafeTensors.read(URL(fileURLWithPath: args[2]))
let input = inputs["input"]!.floatTensor
var times: [Double] = []
var embedding = Tensor.zeros([0])
for i in 0...runs {
    if i == 1 { Profiler.shared.reset() }  // profile the timed runs only
    let t0 = Date()
    embedding = model.encode(input).embedding
    let dt = Date().timeIntervalSince(t0)
    if i > 0 { times.append(dt) }  // the first run is a warm-up
    FileHandle.standardError.write("run \(i): \(String(format: "%.2f", dt)) s\(i == 0 ? " (warm-up)" : "")\n".data(using: .utf8)!)
}
times.sort()
// vit_b figure of performance.md (scaled by depth); MobileSAM's by torch.utils.flop_counter (bench/README.md).
let gflop = model.config.kind == .tinyViT ? 77.54 : 972.08 * Double(model.config.encoder.depth) / 12
print(String(format: "toolkit encoder: median %.2f s (min %.2f, max %.2f) over %d runs, %.1f GFLOP/s",
             times[times.count / 2], times.first!, times.last!, times.count, gflop / times[times.count / 2]))
if Profiler.shared.enabled {
    print("per-stage profile over the timed runs (SSMSAM_PROFILE=1):")
    print(Profiler.shared.report(total: times.reduce(0, +)))
}
if let out = ProcessInfo.processInfo.environment["SAM_BENCH_OUT"] {
    var dict = StateDict(); dict["embedding"] = StoredTensor(embedding)
    try SafeTensors.write(dict, to: URL(fileURLWithPath: out))
}

if let tiny = model.imageEncoder as? ImageEncoderTinyViT {
    // Stage profile: the encoder's own steps, timed one by one.
    func timed<T>(_ what: String, _ body: () -> T) -> T {
        let t0 = Date(); let r = body()
        let label = what.padding(toLength: 24, withPad: " ", startingAt: 0)
        FileHandle.standardError.write("  \(label) \(String(format: "%.3f", Date().timeIntervalSince(t0))) s\n".data(using: .utf8)!)
        return r
    }
    FileHandle.standardError.write("stage profile:\n".data(using: .utf8)!)
    Variable.noGrad {
        var x = timed("stem") { tiny.stem2(tiny.stem1(Variable(input)).gelu()) }
        x = timed("stage 0 (MBConv)") { tiny.convBlocks.reduce(x) { $1($0) } }
        var t = timed("merge 0") { tiny.merges[0](x).permuted([0, 2, 3, 1]) }
        for (s, blocks) in tiny.stages.enumerated() {
            t = timed("stage \(s + 1) (\(blocks.count) blocks)") { blocks.reduce(t) { $1($0) } }
            if s + 1 < tiny.merges.count {
                t = timed("merge \(s + 1)") { tiny.merges[s + 1](t.permuted([0, 3, 1, 2])).permuted([0, 2, 3, 1]) }
            }
        }
        _ = timed("neck") { tiny.neckNorm2(tiny.neckConv2(tiny.neckNorm1(tiny.neckConv1(t.permuted([0, 3, 1, 2]))))) }
    }
}
