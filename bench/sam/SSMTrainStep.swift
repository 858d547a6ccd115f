// One SSM-SAM training step on one 1024 slice pair, as meta-training runs it: forward (query and support
// levels, self-sampler, FMAD), balanced BCE + IoU at 256, backward, AdamW (lr 2e-4, wd 0.01) on the
// trainable heads. What is per image and fixed is computed once before the timed steps, as the toolkit
// caches it: on the cheap path the frozen encoder features, with adapters the high-pass image.
// bench/ssmsam_train_step.py runs the same step with the PyTorch twin on the same model and inputs.
//   sam-bench --ssm-train-step MODEL.pth INPUT.safetensors [runs]
// Last line: `train step median S s, peak RSS M MiB`.
import Diagnostics
import Foundation
import Formats
import NN
import SSMSAM
import TensorCore

func runSSMTrainStep(_ args: [String]) throws {
    guard args.count >= 2 else {
        FileHandle.standardError.write("usage: sam-bench --ssm-train-step MODEL.pth INPUT.safetensors [runs]\n".data(using: .utf8)!)
        exit(2)
    }
    let runs = args.count > 2 ? Int(args[2]) ?? 3 : 3
    let model = try SSMSAMStore.load(URL(fileURLWithPath: args[0]))
    let (inputs, _) = try SafeTensors.read(URL(fileURLWithPath: args[1]))
    func input(_ name: String) throws -> Tensor {
        guard let t = inputs[name]?.floatTensor else { throw ToolkitError(.mismatch, subject: args[1], "no tensor \(name)") }
        return t
    }
    let query = try input("query"), support = try input("support"), mask = try input("support_mask")
    let label = try input("query_label"), xy = try input("points"), labels = try input("point_labels")
    let points = (0..<labels.count).map { SamplerPoint(x: xy.data[2 * $0], y: xy.data[2 * $0 + 1], positive: labels.data[$0] > 0.5) }
    let g = model.grid
    let label256 = Variable.noGrad { Variable(label).averagePooled(height: 4 * g, width: 4 * g).value }
    let path = model.adapter != nil ? "adapters through the frozen encoder (recompute per block)" : "cheap path (cached frozen features)"
    print("processor: \(CPUInfo.host.summary); GEMM \(BLAS.gemm.engineLine), \(BLAS.threads) threads; \(path)")

    // Per image and fixed: computed once, outside the timed steps.
    let t0 = Date()
    let cached = model.adapter == nil ? (model.frozenFeatures(query), model.frozenFeatures(support)) : nil
    let highPass = model.adapter != nil ? (query.highPassFiltered(), support.highPassFiltered()) : nil
    print(String(format: "per-image work (once): %.2f s", Date().timeIntervalSince(t0)))

    let optimizer = AdamW(model.trainableParameters().map(\.parameter), learningRate: 2e-4, weightDecay: 0.01)
    var times: [Double] = []
    let prof = Profiler.shared
    for r in 0...runs {
        if r == 1 { prof.reset() }  // profile the timed runs only (SSMSAM_PROFILE=1)
        let t = Date()
        optimizer.zeroGrad()
        let (q, s) = prof.measure("step: levels") { () -> ([Variable], [Variable]) in
            if let (fq, fs) = cached {
                return (model.levels(fromFrozen: fq.map { Variable($0) }), model.levels(fromFrozen: fs.map { Variable($0) }))
            }
            return (model.featureLevels(query, highPass: highPass!.0), model.featureLevels(support, highPass: highPass!.1))
        }
        let logits = prof.measure("step: heads forward") { model.logits(query: q, support: s, supportMask: mask, points: points) }
        let loss = SegmentationLoss.total(logits, label256)
        prof.measure("step: backward") { loss.backward() }
        prof.measure("step: AdamW") { optimizer.step() }
        let dt = Date().timeIntervalSince(t)
        if r > 0 { times.append(dt) }
        print("run \(r): \(String(format: "%.3f", dt)) s\(r == 0 ? " (warm-up)" : ""), loss \(loss.value.scalar)")
    }
    if prof.enabled { print(prof.report(total: times.reduce(0, +))) }
    times.sort()
    print(String(format: "train step median %.3f s, peak RSS %d MiB", median(times)!, peakRSSMiB()))
}
