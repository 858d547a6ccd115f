// SAM image encoder timing on the toolkit: median of N runs, GFLOP/s; with SSMSAM_PROFILE=1 the time of
// each stage (attention, MLP, TinyViT stages, neck) over the timed runs.
// Run: swift run -c release sam-bench WEIGHTS.safetensors INPUT.safetensors [runs]
//      swift run -c release sam-bench --train-step WEIGHTS.safetensors INPUT.safetensors [runs]  (TrainStep.swift)
//      swift run -c release sam-bench --ssm-train-step MODEL.pth INPUT.safetensors [runs]      (SSMTrainStep.swift)
//      swift run -c release sam-bench --decoder WEIGHTS.safetensors DECODER_INPUT.safetensors [runs]  (Decoder.swift)
// SAM_BENCH_PRECISION=bf16 runs the encoder (or decoder) in bf16 (`SAMModel.inPrecision`).
// (bench/mobilesam.sh runs it next to PyTorch on MobileSAM's weights and input.)
import Diagnostics
import Foundation
import Formats
import SAM
import TensorCore

/// The encoder timing (the default mode).
func runEncoder(_ args: [String]) throws {
    guard args.count >= 2 else {
        FileHandle.standardError.write("usage: sam-bench [--train-step | --ssm-train-step | --decoder] WEIGHTS.safetensors INPUT.safetensors [runs]\n".data(using: .utf8)!)
        exit(2)
    }
    let runs = args.count > 2 ? Int(args[2]) ?? 3 : 3
    let (weights, _) = try SafeTensors.read(URL(fileURLWithPath: args[0]))
    let model = try SAMModel(weights, file: args[0]).inPrecision(benchPrecision())
    let (inputs, _) = try SafeTensors.read(URL(fileURLWithPath: args[1]))
    guard let stored = inputs["input"] else {
        throw BenchError("\(args[1]): no tensor 'input' (found \(inputs.names.prefix(5).joined(separator: ", "))); "
                         + "the second argument is the input image tensor (1 x 3 x S x S)")
    }
    let input = stored.floatTensor
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
    let middle = median(times)!
    print(String(format: "toolkit encoder: median %.2f s (min %.2f, max %.2f) over %d runs, %.1f GFLOP/s, %@, GEMM %@",
                 middle, times.first!, times.last!, times.count, gflop / middle,
                 model.precision.rawValue, BLAS.gemm.engineLine))
    if Profiler.shared.enabled {
        print("per-stage profile over the timed runs (SSMSAM_PROFILE=1):")
        print(Profiler.shared.report(total: times.reduce(0, +)))
    }
    if let out = ProcessInfo.processInfo.environment["SAM_BENCH_OUT"] {
        var dict = StateDict(); dict["embedding"] = StoredTensor(embedding)
        try SafeTensors.write(dict, to: URL(fileURLWithPath: out))
    }
}

// A wrong argument gets one line and exit status 1, never a crash.
do {
    let args = CommandLine.arguments
    switch args.count > 1 ? args[1] : "" {
    case "--train-step": try runTrainStep(Array(args.dropFirst(2)))
    case "--decoder": try runDecoder(Array(args.dropFirst(2)))
    case "--ssm-train-step": try runSSMTrainStep(Array(args.dropFirst(2)))
    default: try runEncoder(Array(args.dropFirst()))
    }
} catch {
    FileHandle.standardError.write("sam-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
