// One training step through SAM's frozen ViT image encoder, as SSM-SAM's adapters need it: tokens injected
// at every block require gradients, the encoder's weights are frozen, and the loss is a scalar on the neck
// outputs of four taps (after blocks depth/4, depth/2, 3 depth/4, depth). bench/train_step.py runs the same
// step in PyTorch autograd on the same weights and input.
//   sam-bench --train-step WEIGHTS.safetensors INPUT.safetensors [runs] [--dump GRADS.safetensors]
// Last line: `train step median S s, peak RSS M MiB`.
import Diagnostics
import Foundation
import Formats
import NN
import SAM
import TensorCore

func runTrainStep(_ args: [String]) throws {
    var positional: [String] = []
    var dump: String? = nil
    var i = 0
    while i < args.count {
        if args[i] == "--dump", i + 1 < args.count { dump = args[i + 1]; i += 2 } else { positional.append(args[i]); i += 1 }
    }
    guard positional.count >= 2 else {
        FileHandle.standardError.write("usage: sam-bench --train-step WEIGHTS.safetensors INPUT.safetensors [runs] [--dump GRADS.safetensors]\n".data(using: .utf8)!)
        exit(2)
    }
    let runs = positional.count > 2 ? Int(positional[2]) ?? 3 : 3
    let (weights, _) = try SafeTensors.read(URL(fileURLWithPath: positional[0]))
    let config = SAMConfig.preset("vit_b")!.encoder  // strict loading below checks the weights are vit_b's
    let encoder = ImageEncoderViT(config: config)
    try encoder.load(weights, file: positional[0], prefix: "image_encoder")
    encoder.freeze()
    let (inputs, _) = try SafeTensors.read(URL(fileURLWithPath: positional[1]))
    guard let image = inputs["image"]?.floatTensor, let tokenTable = inputs["tokens"]?.floatTensor,
          tokenTable.shape.count == 5, tokenTable.shape[0] == config.depth else {
        throw ToolkitError(.mismatch, subject: positional[1], "needs `image` (1, 3, S, S) and `tokens` (\(config.depth), 1, grid, grid, dim)")
    }
    let d = config.depth
    let tapBlocks = [d / 4 - 1, d / 2 - 1, 3 * d / 4 - 1, d - 1]
    print("processor: \(CPUInfo.host.summary); GEMM \(BLAS.gemm.engineLine), \(BLAS.threads) threads; taps \(tapBlocks); recompute per block")

    func step() -> (loss: Float, grads: Tensor) {
        let tokens = Variable(tokenTable, requiresGrad: true)
        let perBlock = tokens.split(sizes: [Int](repeating: 1, count: d), axis: 0).map { $0.reshaped(Array(tokenTable.shape.dropFirst())) }
        let pass = encoder.blocks(encoder.patchTokens(Variable(image)), injection: { perBlock[$0] }, taps: tapBlocks, recompute: true)
        var loss: Variable? = nil
        for tap in pass.taps {
            let n = encoder.neck(tokens: tap)
            let term = (n * n).mean()
            loss = loss.map { $0 + term } ?? term
        }
        loss!.backward()
        return (loss!.value.scalar, tokens.grad!)
    }
    var times: [Double] = []
    var last: (loss: Float, grads: Tensor)? = nil
    for r in 0...runs {
        let t0 = Date()
        last = step()
        let dt = Date().timeIntervalSince(t0)
        if r > 0 { times.append(dt) }
        print("run \(r): \(String(format: "%.2f", dt)) s\(r == 0 ? " (warm-up)" : ""), loss \(last!.loss)")
    }
    if let dump {
        var out = StateDict()
        out["loss"] = StoredTensor(Tensor(scalar: last!.loss))
        out["grad.tokens"] = StoredTensor(last!.grads)
        try SafeTensors.write(out, to: URL(fileURLWithPath: dump))
    }
    times.sort()
    print(String(format: "train step median %.2f s, peak RSS %d MiB", median(times)!, peakRSSMiB()))
}

/// The process's peak resident set (VmHWM), in MiB.
func peakRSSMiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return -1 }
    return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
}
