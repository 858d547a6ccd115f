import Foundation
import TestSupport
import XCTest
import TensorCore

/// The GEMM engine layer: ISA detection, the selection policy (injected inputs, never the environment),
/// and every available engine against a naive product. No timing here: benchmarks live in bench/gemm.
final class GEMMEngineTests: XCTestCase {
    // MARK: ISA detection

    /// /proc/cpuinfo's first processor: its fields and flags (nil off Linux).
    private func procCPUInfo() -> (fields: [String: String], flags: Set<String>)? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { break }
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            fields[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return (fields, Set((fields["flags"] ?? "").split(separator: " ").map(String.init)))
    }

    func testDetectionAgreesWithProcCPUInfo() throws {
        guard let proc = procCPUInfo(), proc.fields["vendor_id"] != nil else {
            try TestAssets.missing("/proc/cpuinfo with an x86 vendor_id (the detection is checked against Linux's own view)")
            return
        }
        let cpu = CPUInfo.host
        XCTAssertEqual(cpu.vendor, proc.fields["vendor_id"])
        XCTAssertEqual(String(cpu.family), proc.fields["cpu family"])
        XCTAssertEqual(String(cpu.model), proc.fields["model"])
        // Linux lists a feature only when the CPU has it (and, for AVX and AVX-512, the kernel enabled its
        // state), so every flag it lists is one cpuid reports...
        let known = ["pni", "ssse3", "sse4_1", "sse4_2", "avx", "fma", "avx2", "avx512f", "avx512bw", "avx512dq",
                     "avx512vl", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"]
        for name in known where proc.flags.contains(name) {
            XCTAssertTrue(cpu.flags.contains(name), "/proc/cpuinfo has \(name), cpuid does not")
        }
        // ...and the tier from its flags is the tier from cpuid and XGETBV.
        let fromProc = CPUInfo(flags: proc.flags, osSavesYMM: proc.flags.contains("avx"),
                               osSavesZMM: proc.flags.contains("avx512f"))
        XCTAssertEqual(cpu.level, fromProc.level, "cpuid: \(cpu.summary); /proc/cpuinfo: \(fromProc.level)")
    }

    func testLevelNeedsTheOperatingSystemsRegisterState() {
        let avx512: Set<String> = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"]
        XCTAssertEqual(CPUInfo(flags: avx512, osSavesYMM: true, osSavesZMM: true).level, .avx512)
        XCTAssertEqual(CPUInfo(flags: avx512, osSavesYMM: true, osSavesZMM: false).level, .avx2)
        XCTAssertEqual(CPUInfo(flags: avx512, osSavesYMM: false, osSavesZMM: false).level, .sse)
        XCTAssertEqual(CPUInfo(flags: avx512.subtracting(["avx512vl"]), osSavesYMM: true, osSavesZMM: true).level, .avx2)
        XCTAssertEqual(CPUInfo(flags: ["avx"], osSavesYMM: true, osSavesZMM: false).level, .avx)
    }

    func testCoreNamesAndTiers() {
        for level in [SIMDLevel.avx, .avx2, .avx512] {
            XCTAssertEqual(level.openBLASCore.flatMap(SIMDLevel.ofOpenBLASCore), level)
        }
        XCTAssertEqual(SIMDLevel.ofOpenBLASCore("Prescott"), .sse)
        XCTAssertEqual(SIMDLevel.ofOpenBLASCore("Zen"), .avx2)
        XCTAssertEqual(SIMDLevel.ofOpenBLASCore("COOPERLAKE"), .avx512)
        XCTAssertNil(SIMDLevel.ofOpenBLASCore("NeoverseN1"))
        XCTAssertEqual(SIMDLevel.ofOneDNNISA(0x3e7), .avx512)  // avx512_core_amx
        XCTAssertEqual(SIMDLevel.ofOneDNNISA(0x27), .avx512)   // avx512_core
        XCTAssertEqual(SIMDLevel.ofOneDNNISA(0x407), .avx2)    // avx2_vnni
        XCTAssertEqual(SIMDLevel.ofOneDNNISA(0x1), .sse)
        XCTAssertNil(SIMDLevel.ofOneDNNISA(-1))
    }

    // MARK: the selection policy

    private func decide(cpu: SIMDLevel = .avx512, coreType: String? = nil, core: String = "Prescott",
                        canReselect: Bool = true, oneDNN: SIMDLevel? = .avx512, engine: String? = nil) -> GEMMSelection {
        GEMMSelection.decide(.init(cpu: cpu, coreTypeVariable: coreType, openBLASCore: core, canReselect: canReselect,
                                   oneDNN: oneDNN, engineVariable: engine))
    }

    func testASetCoreTypeIsRespected() {
        // Machine A: the environment sets Haswell on an AVX-512 CPU; OpenBLAS keeps it, nothing re-selected,
        // and the products run on oneDNN, which reaches AVX-512 (the variable configures OpenBLAS only).
        let a = decide(coreType: "Haswell", core: "Haswell")
        XCTAssertEqual(a.engine, .oneDNN)
        XCTAssertNil(a.reselectOpenBLAS)
        XCTAssertTrue(a.reason.contains("OPENBLAS_CORETYPE=Haswell is set: respected (OpenBLAS keeps Haswell)"), a.reason)
        XCTAssertTrue(a.reason.contains("oneDNN reaches AVX-512, OpenBLAS does not"), a.reason)
        // Without oneDNN, OpenBLAS on the kernel the variable names, weaker or not.
        let alone = decide(coreType: "Haswell", core: "Haswell", oneDNN: nil)
        XCTAssertEqual(alone.engine, .openBLAS)
        XCTAssertNil(alone.reselectOpenBLAS)
        // Even a variable naming a weak kernel, or one OpenBLAS does not know: never re-selected.
        for (set, core) in [("Prescott", "Prescott"), ("Nonsense", "Prescott"), ("SkylakeX", "SkylakeX")] {
            let s = decide(coreType: set, core: core)
            XCTAssertEqual(s.engine, set == "SkylakeX" ? GEMMSelection.measuredPreference(for: .avx512) : .oneDNN, set)
            XCTAssertNil(s.reselectOpenBLAS, set)
            XCTAssertEqual(decide(coreType: set, core: core, oneDNN: nil).engine, .openBLAS, set)
            XCTAssertNil(decide(coreType: set, core: core, oneDNN: nil).reselectOpenBLAS, set)
        }
        // Choosing the engine by hand still never re-selects over a set variable.
        XCTAssertNil(decide(coreType: "Haswell", core: "Haswell", engine: "openblas").reselectOpenBLAS)
        XCTAssertNil(decide(coreType: "Haswell", core: "Haswell", engine: "onednn").reselectOpenBLAS)
        XCTAssertEqual(decide(coreType: "Haswell", core: "Haswell", engine: "onednn").engine, .oneDNN)
    }

    func testUnsetNeverLeavesAWeakerKernel() {
        // Machine B: OpenBLAS 0.3.21 says Prescott on an AVX-512 Xeon.
        let b = decide()
        XCTAssertEqual(b.reselectOpenBLAS, "SkylakeX")
        XCTAssertEqual(b.engine, GEMMSelection.measuredPreference(for: .avx512))
        // Without oneDNN: OpenBLAS, re-selected.
        let noDNN = decide(oneDNN: nil)
        XCTAssertEqual(noDNN.engine, .openBLAS)
        XCTAssertEqual(noDNN.reselectOpenBLAS, "SkylakeX")
        // An OpenBLAS that cannot re-select: oneDNN, which reaches the CPU's tier.
        XCTAssertEqual(decide(canReselect: false).engine, .oneDNN)
        XCTAssertNil(decide(canReselect: false).reselectOpenBLAS)
        // An AVX2 CPU on which OpenBLAS chose an SSE kernel; oneDNN only reaching AVX2.
        let avx2 = decide(cpu: .avx2, core: "Nehalem", oneDNN: .avx2)
        XCTAssertEqual(avx2.reselectOpenBLAS, "Haswell")
        XCTAssertEqual(avx2.engine, GEMMSelection.measuredPreference(for: .avx2))
        // oneDNN weaker than OpenBLAS on the CPU's tier: OpenBLAS.
        XCTAssertEqual(decide(core: "SkylakeX", oneDNN: .avx2).engine, .openBLAS)
    }

    func testNothingToChange() {
        for core in ["SkylakeX", "Cooperlake"] {
            XCTAssertNil(decide(core: core).reselectOpenBLAS, core)
        }
        XCTAssertNil(decide(cpu: .avx2, core: "Zen", oneDNN: .avx2).reselectOpenBLAS)
        XCTAssertNil(decide(cpu: .avx2, core: "Haswell", oneDNN: nil).reselectOpenBLAS)
        // A core name this table does not know is left alone.
        XCTAssertNil(decide(core: "SapphireRapidsNext").reselectOpenBLAS)
        // An SSE-only CPU: nothing to re-select to.
        XCTAssertNil(decide(cpu: .sse, core: "Prescott", oneDNN: .sse).reselectOpenBLAS)
    }

    func testEngineByHand() {
        XCTAssertEqual(decide(engine: "openblas").engine, .openBLAS)
        XCTAssertEqual(decide(engine: "openblas").reselectOpenBLAS, "SkylakeX")
        XCTAssertEqual(decide(engine: "oneDNN").engine, .oneDNN)
        let missing = decide(oneDNN: nil, engine: "onednn")
        XCTAssertEqual(missing.engine, .openBLAS)
        XCTAssertTrue(missing.reason.contains("not installed"), missing.reason)
        XCTAssertTrue(decide(engine: "mkl").reason.contains("not an engine"))
    }

    /// What this process actually runs: OpenBLAS on the variable's kernel when it is set (never re-selected),
    /// and never a weaker GEMM than the CPU when some engine reaches it.
    func testTheAppliedSelection() {
        let status = BLAS.gemm
        XCTAssertTrue(status.problems.isEmpty, "\(status.problems)")
        if let set = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
           ProcessInfo.processInfo.environment["SSMSAM_GEMM"] == nil {
            XCTAssertFalse(status.reselected)
            // The products run on oneDNN when it reaches the CPU's tier and OpenBLAS's set kernel does not.
            if let d = status.oneDNNLevel, d >= status.cpu.level, (SIMDLevel.ofOpenBLASCore(status.openBLASCore) ?? .sse) < status.cpu.level {
                XCTAssertEqual(status.engine, .oneDNN, status.selection.reason)
                XCTAssertFalse(status.weakerThanCPU, "\(status.engineLine) on \(status.cpu.summary)")
            }
            if let wanted = SIMDLevel.ofOpenBLASCore(set) {
                XCTAssertEqual(SIMDLevel.ofOpenBLASCore(status.openBLASCore), wanted, "OPENBLAS_CORETYPE=\(set)")
            }
        } else if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil {
            XCTAssertFalse(status.weakerThanCPU, "\(status.engineLine) on \(status.cpu.summary)")
            // OpenBLAS too, whichever engine runs, when it knows its core and can re-select.
            if let core = SIMDLevel.ofOpenBLASCore(status.openBLASCore), status.selection.reason.contains("cannot") == false {
                XCTAssertGreaterThanOrEqual(core, status.cpu.level, "OpenBLAS \(status.openBLASCore) on \(status.cpu.summary)")
            }
        }
        XCTAssertEqual(BLAS.coreName, status.openBLASCore)
    }

    // MARK: products on every engine

    /// C = alpha op(A) op(B) + beta C in Double, row-major with row strides.
    private func naive(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
                       b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p]
                    let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(x) * Double(y)
                }
                out[i * ldc + j] = Float(Double(alpha) * s + Double(beta) * Double(c[i * ldc + j]))
            }
        }
        return out
    }

    private func check(engine: GEMMEngine?, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SystemRandomNumberGenerator()
        let shapes: [(Int, Int, Int)] = [(1, 1, 1), (7, 13, 5), (33, 65, 17), (129, 3, 70), (5, 300, 1), (64, 64, 129)]
        for (m, k, n) in shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    for (alpha, beta) in [(Float(1), Float(0)), (Float(-0.5), Float(1.5))] {
                        // Row strides wider than the rows, padding filled with a sentinel that must survive.
                        let (rowsA, colsA) = transA ? (k, m) : (m, k)
                        let (rowsB, colsB) = transB ? (n, k) : (k, n)
                        let lda = colsA + 3, ldb = colsB + 2, ldc = n + 5
                        let a = (0..<(rowsA * lda)).map { _ in Float.random(in: -1...1, using: &rng) }
                        let b = (0..<(rowsB * ldb)).map { _ in Float.random(in: -1...1, using: &rng) }
                        var c = (0..<(m * ldc)).map { i in i % ldc < n ? Float.random(in: -1...1, using: &rng) : 777 }
                        let want = naive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                         b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
                        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                            if let engine {
                                BLAS.sgemm(on: engine, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                           a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: beta,
                                           c: pc.baseAddress!, ldc: ldc)
                            } else {
                                BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                           a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: beta,
                                           c: pc.baseAddress!, ldc: ldc)
                            }
                        } } }
                        var worst: Float = 0
                        for i in 0..<(m * ldc) {
                            if i % ldc >= n {
                                XCTAssertEqual(c[i], 777, "padding of C written", file: file, line: line)
                                continue
                            }
                            worst = max(worst, abs(c[i] - want[i]) / max(abs(want[i]), 1))
                        }
                        XCTAssertLessThanOrEqual(worst, 1e-4, "\(engine?.rawValue ?? "selected") M\(m) K\(k) N\(n) "
                                                 + "transA \(transA) transB \(transB) alpha \(alpha) beta \(beta)", file: file, line: line)
                    }
                }
            }
        }
    }

    func testSelectedEngineMatchesNaiveProduct() { check(engine: nil) }

    func testEveryAvailableEngineMatchesNaiveProduct() {
        for engine in GEMMEngine.allCases where engine.isAvailable { check(engine: engine) }
    }

    func testSelectedEngineIsDeterministic() {
        let (m, k, n) = (257, 768, 300)
        let a = (0..<(m * k)).map { Float(($0 * 7919) % 1013) / 1013 - 0.5 }
        let b = (0..<(n * k)).map { Float(($0 * 104729) % 997) / 997 - 0.5 }
        func run() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                BLAS.sgemm(transA: false, transB: true, m: m, n: n, k: k, a: pa.baseAddress!, lda: k,
                           b: pb.baseAddress!, ldb: k, c: pc.baseAddress!, ldc: n)
            } } }
            return c
        }
        XCTAssertEqual(run(), run())
    }
}
