// GEMM engines and kernels against each other on SAM vit_b's shapes, then the toolkit's matmul on the
// engine it selected next to that engine's raw sgemm.
// Run: swift run -c release gemm-bench [repeats] [--openblas-cores Haswell,SkylakeX]
//      swift run -c release gemm-bench --peak [repeats]   (one JSON line: the toolkit's GEMM peak on vit_b's
//      linear shapes, fp32 and, where the CPU has it, bf16; bench/encoder.py reports the encoder against it)
//      swift run -c release gemm-bench --attention [repeats]   (the fused attention core alone on vit_b's
//      global and windowed shapes, both threads, GFLOP/s of its two products)
//   (threads as the environment says; the attention shapes run single-threaded, as FusedAttention runs them)
import Foundation
import TensorCore

func seconds(_ body: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

var args = Array(CommandLine.arguments.dropFirst())
var extraCores: [String] = []
if let i = args.firstIndex(of: "--openblas-cores"), i + 1 < args.count {
    extraCores = args[i + 1].split(separator: ",").map(String.init)
    args.removeSubrange(i...(i + 1))
}
let peakOnly = args.contains("--peak"), attentionOnly = args.contains("--attention")
args.removeAll { $0 == "--peak" || $0 == "--attention" }
let repeats = Int(args.first ?? "") ?? 7
let env = ProcessInfo.processInfo.environment
let cpu = CPUInfo.host

/// The best median GFLOP/s of `Tensor.linear` (into a reused output, as the encoder runs its layers) over
/// vit_b's four linear shapes, on the engine the toolkit selected; in bf16 with the weights held as the
/// encoder holds them (`BF16Weights`) when `bf16`.
func linearPeak(bf16: Bool) -> Double {
    var best = 0.0
    for (m, k, n) in [(4096, 768, 2304), (4096, 768, 3072), (4096, 3072, 768), (4096, 768, 768)] {
        let a = Tensor(shape: [m, k], data: (0..<(m * k)).map { _ in Float.random(in: -1...1) })
        let w = Tensor(shape: [n, k], data: (0..<(n * k)).map { _ in Float.random(in: -1...1) })
        let held = bf16 ? BF16Weights([w]) : nil
        var out = Tensor.linear(a, weight: w, bias: nil)
        var times: [Double] = []
        ReducedPrecision.with(held) {
            Tensor.linear(a, weight: w, bias: nil, into: &out)  // warm-up
            for _ in 0..<repeats { times.append(seconds { Tensor.linear(a, weight: w, bias: nil, into: &out) }) }
        }
        best = max(best, 2.0 * Double(m * n * k) / median(times) / 1e9)
    }
    return best
}

if peakOnly {
    let fp32 = linearPeak(bf16: false)
    let bf16 = GEMMPrecision.unsupportedReason(.bf16) == nil ? linearPeak(bf16: true) : nil
    let fields = ["\"peer\": \"gemm\"", "\"engine\": \"\(BLAS.gemm.engineLine)\"", "\"processor\": \"\(cpu.summary)\"",
                  String(format: "\"fp32_gflops\": %.1f", fp32)] + (bf16.map { [String(format: "\"bf16_gflops\": %.1f", $0)] } ?? [])
    print("{" + fields.joined(separator: ", ") + "}")
    exit(0)
}

/// `FusedAttention.relativePosition` on vit_b's shapes at 1024 (12 heads of 64 x 64 tokens in the global
/// blocks, 25 windows x 12 heads of 14 x 14 in the others): median seconds per call and GFLOP/s counting
/// the two products (4 N² d per head).
func attentionBench() {
    print("processor: \(cpu.summary); GEMM \(BLAS.gemm.engineLine); \(FusedAttention.rowsPerBlock) query rows per block")
    for (bh, side, label) in [(12, 64, "global"), (300, 14, "windowed")] {
        let n = side * side, d = 64
        func random(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1) })
        }
        let q = random([bh, side, side, d]), k = random([bh, n, d]), v = random([bh, n, d])
        let relH = random([bh, side, side, side]), relW = random([bh, side, side, side])
        _ = FusedAttention.relativePosition(q: q, k: k, v: v, relH: relH, relW: relW, scale: 0.125)  // warm-up
        var times: [Double] = []
        for _ in 0..<repeats {
            times.append(seconds { _ = FusedAttention.relativePosition(q: q, k: k, v: v, relH: relH, relW: relW, scale: 0.125) })
        }
        let flops = 4.0 * Double(bh * n * n * d)
        print(String(format: "%-9@ (%d x %d x %d x %d): median %.4f s (min %.4f), %.1f GFLOP/s", label as NSString, bh, n, n, d,
                     median(times), times.min()!, flops / median(times) / 1e9))
    }
}

if attentionOnly {
    attentionBench()
    exit(0)
}

// Candidates: OpenBLAS on the kernel it loaded, on the CPU's kernel when that differs and the variable is
// unset (what the toolkit would re-select), on any kernel named by hand; and oneDNN when installed.
struct Candidate { let name: String; let engine: GEMMEngine; let core: String? }
let loadedCore = BLAS.openBLASCoreNow
var candidates = [Candidate(name: "OpenBLAS \(loadedCore)", engine: .openBLAS, core: nil)]
var cores = extraCores
if env["OPENBLAS_CORETYPE"] == nil, let target = cpu.level.openBLASCore,
   SIMDLevel.ofOpenBLASCore(loadedCore).map({ $0 < cpu.level }) ?? false {
    cores.insert(target, at: 0)
}
for core in cores where core.lowercased() != loadedCore.lowercased() {
    let got = BLAS.reselectOpenBLAS(core)
    if got.lowercased() == core.lowercased() {
        candidates.append(Candidate(name: "OpenBLAS \(got)", engine: .openBLAS, core: core))
    } else {
        print("OpenBLAS: asked for \(core), got \(got): left out")
    }
}
BLAS.reselectOpenBLAS(nil)
let status = BLAS.gemm  // the toolkit's decision (applied now: it may re-select OpenBLAS's kernel)
if GEMMEngine.oneDNN.isAvailable {
    candidates.append(Candidate(name: "oneDNN \(status.oneDNNISA ?? "")", engine: .oneDNN, core: nil))
}
let selectedName = status.engine == .oneDNN ? "oneDNN \(status.oneDNNISA ?? "")" : "OpenBLAS \(status.openBLASCore)"

print("processor: \(cpu.summary)")
print("OpenBLAS: \(BLAS.configuration); loaded core \(loadedCore); OPENBLAS_CORETYPE \(env["OPENBLAS_CORETYPE"] ?? "(unset)"); threads \(BLAS.threads)")
print("oneDNN: " + (status.oneDNNVersion.map { "\($0), CPU ISA \(status.oneDNNISA ?? "?")" } ?? "not installed (libdnnl.so.2)"))
print("toolkit GEMM: \(status.engineLine); \(status.selection.reason)")
print("")
print("Engines: GFLOP/s, medians of \(repeats) rounds, candidates alternating within each round")

struct Shape { let m, k, n: Int; let transB: Bool; let threads: Int; let concurrent: Int; let label: String }
let shapes = [
    Shape(m: 4096, k: 768, n: 2304, transB: true, threads: BLAS.threads, concurrent: 1, label: "qkv"),
    Shape(m: 4096, k: 768, n: 3072, transB: true, threads: BLAS.threads, concurrent: 1, label: "mlp.lin1"),
    Shape(m: 4096, k: 3072, n: 768, transB: true, threads: BLAS.threads, concurrent: 1, label: "mlp.lin2"),
    Shape(m: 4096, k: 768, n: 768, transB: true, threads: BLAS.threads, concurrent: 1, label: "proj"),
    Shape(m: 128, k: 64, n: 4096, transB: true, threads: 1, concurrent: 1, label: "attn q kT"),
    Shape(m: 128, k: 4096, n: 64, transB: false, threads: 1, concurrent: 1, label: "attn p v"),
    Shape(m: 128, k: 64, n: 4096, transB: true, threads: 1, concurrent: 2, label: "q kT, 2 at once"),
    Shape(m: 128, k: 4096, n: 64, transB: false, threads: 1, concurrent: 2, label: "p v, 2 at once"),
]
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
let width = max(14, candidates.map(\.name.count).max()! + 2)
print(pad("M x K x N (op, threads)", 40) + candidates.map { lpad($0.name, width) }.joined() + "  best")

/// Row-major operands of one shape, `copies` independent sets (one per concurrent caller).
final class Operands {
    let a: [[Float]], b: [[Float]]
    var c: [[Float]]
    init(_ s: Shape, copies: Int) {
        a = (0..<copies).map { _ in (0..<(s.m * s.k)).map { _ in Float.random(in: -1...1) } }
        b = (0..<copies).map { _ in (0..<(s.k * s.n)).map { _ in Float.random(in: -1...1) } }
        c = (0..<copies).map { _ in [Float](repeating: 0, count: s.m * s.n) }
    }
    func run(_ s: Shape, _ engine: GEMMEngine, copy i: Int) {
        a[i].withUnsafeBufferPointer { pa in b[i].withUnsafeBufferPointer { pb in c[i].withUnsafeMutableBufferPointer { pc in
            BLAS.sgemm(on: engine, transA: false, transB: s.transB, m: s.m, n: s.n, k: s.k, a: pa.baseAddress!, lda: s.k,
                       b: pb.baseAddress!, ldb: s.transB ? s.k : s.n, c: pc.baseAddress!, ldc: s.n)
        } } }
    }
}

for s in shapes {
    let ops = Operands(s, copies: s.concurrent)
    // Small products are timed in batches so one timing is well above the clock's resolution.
    let inner = s.m * s.n * s.k >= 1 << 28 ? 1 : 20
    let flops = 2.0 * Double(s.m * s.n * s.k) * Double(inner * s.concurrent)
    var times = [[Double]](repeating: [], count: candidates.count)
    func timed(_ c: Candidate) -> Double {
        if c.engine == .openBLAS { BLAS.reselectOpenBLAS(c.core) }
        // The previous candidate's idle threads may still be spinning after its call (OpenBLAS's workers
        // yield in a loop for a while before they sleep), sharing the 2 cores with this one; the encoder never
        // alternates engines, so each candidate starts after a pause (bench/README: oneDNN's mlp.lin1 measured
        // 134-179 GFLOP/s in three runs without it, 196-199 in three with it).
        usleep(250_000)
        return BLAS.withThreads(s.threads) {
            seconds {
                if s.concurrent == 1 {
                    for _ in 0..<inner { ops.run(s, c.engine, copy: 0) }
                } else {
                    DispatchQueue.concurrentPerform(iterations: s.concurrent) { i in
                        for _ in 0..<inner { ops.run(s, c.engine, copy: i) }
                    }
                }
            }
        }
    }
    for c in candidates { _ = timed(c) }  // warm-up
    for _ in 0..<repeats {
        for (j, c) in candidates.enumerated() { times[j].append(timed(c)) }
    }
    let rates = times.map { flops / median($0) / 1e9 }
    let best = candidates[rates.indices.max(by: { rates[$0] < rates[$1] })!].name
    let op = s.transB ? "A Bᵀ" : "A B"
    let label = "\(s.m) x \(s.k) x \(s.n) (\(op), \(s.threads)t) \(s.label)"
    print(pad(label, 40) + rates.map { lpad(String(format: "%.1f", $0), width) }.joined() + "  \(best)")
}
BLAS.reselectOpenBLAS(status.openBLASCore == loadedCore ? nil : status.openBLASCore)  // the toolkit's choice again

print("")
print("Toolkit (\(selectedName)): GFLOP/s, medians of \(repeats) alternating runs; 'linear' allocates its output, 'into' reuses it")
print(String(format: "%-22@ %12@ %12@ %8@ %12@ %8@", "shape (M x K x N)" as NSString, "raw sgemm" as NSString,
             "linear" as NSString, "ratio" as NSString, "into" as NSString, "ratio" as NSString))
for (m, k, n) in [(4096, 768, 2304), (4096, 768, 3072), (4096, 3072, 768), (4096, 768, 768)] {
    let a = Tensor(shape: [m, k], data: (0..<(m * k)).map { _ in Float.random(in: -1...1) })
    let w = Tensor(shape: [n, k], data: (0..<(n * k)).map { _ in Float.random(in: -1...1) })
    var c = [Float](repeating: 0, count: m * n)
    let flops = 2.0 * Double(m * n * k)
    var raw: [Double] = [], toolkit: [Double] = [], reuse: [Double] = []
    var out = Tensor.linear(a, weight: w, bias: nil)  // warm-up
    for _ in 0..<repeats {
        // A B A B: raw sgemm, then the toolkit's linear (x Wᵀ, the layout of every SAM linear layer).
        raw.append(seconds {
            a.data.withUnsafeBufferPointer { pa in w.data.withUnsafeBufferPointer { pw in c.withUnsafeMutableBufferPointer { pc in
                BLAS.sgemm(transA: false, transB: true, m: m, n: n, k: k, a: pa.baseAddress!, lda: k,
                           b: pw.baseAddress!, ldb: k, c: pc.baseAddress!, ldc: n)
            } } }
        })
        toolkit.append(seconds { _ = Tensor.linear(a, weight: w, bias: nil) })
        reuse.append(seconds { Tensor.linear(a, weight: w, bias: nil, into: &out) })
    }
    let r = flops / median(raw) / 1e9, t = flops / median(toolkit) / 1e9, u = flops / median(reuse) / 1e9
    print(String(format: "%-22@ %12.1f %12.1f %7.1f%% %12.1f %7.1f%%", "\(m) x \(k) x \(n)" as NSString, r, t, 100 * t / r, u, 100 * u / r))
}
