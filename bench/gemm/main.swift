// GEMM throughput of the toolkit's matmul on SAM vit_b shapes, next to raw OpenBLAS sgemm.
// Run: swift run -c release gemm-bench [repeats]   (OpenBLAS threads as the environment says)
import Foundation
import TensorCore

func seconds(_ body: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

let repeats = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 7
print("OpenBLAS: \(BLAS.configuration); core \(BLAS.coreName); threads \(BLAS.threads)")
print("GFLOP/s, medians of \(repeats) alternating runs; 'toolkit' allocates its output, 'into' reuses it")
print(String(format: "%-22@ %12@ %12@ %8@ %12@ %8@", "shape (M x K x N)" as NSString, "raw sgemm" as NSString,
             "toolkit" as NSString, "ratio" as NSString, "into" as NSString, "ratio" as NSString))
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
