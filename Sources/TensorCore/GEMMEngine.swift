import CBLAS
import CGEMM
import Foundation

/// Vector instruction tiers of fp32 GEMM kernels, weakest first.
public enum SIMDLevel: Int, Comparable, Sendable, CustomStringConvertible {
    case sse = 0, avx, avx2, avx512

    public static func < (a: SIMDLevel, b: SIMDLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .sse: return "SSE"
        case .avx: return "AVX"
        case .avx2: return "AVX2+FMA"
        case .avx512: return "AVX-512"
        }
    }

    /// The OpenBLAS DYNAMIC_ARCH core whose sgemm kernel uses this tier (nil: leave OpenBLAS's choice).
    public var openBLASCore: String? {
        switch self {
        case .sse: return nil
        case .avx: return "Sandybridge"
        case .avx2: return "Haswell"
        case .avx512: return "SkylakeX"
        }
    }

    /// The tier of an OpenBLAS core name (`openblas_get_corename()`, any case); nil for unknown names.
    public static func ofOpenBLASCore(_ name: String) -> SIMDLevel? {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return .avx512
        case "haswell", "zen": return .avx2
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": return .avx
        case "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn", "dunnington",
             "nehalem", "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "bobcat": return .sse
        default: return nil
        }
    }

    /// The tier of oneDNN's `dnnl_get_effective_cpu_isa()` (dnnl_cpu_isa_t bits); nil for unknown values.
    public static func ofOneDNNISA(_ isa: Int32) -> SIMDLevel? {
        if isa < 0 { return nil }
        if isa & 0x27 == 0x27 { return .avx512 }  // avx512_core and everything above it
        if isa & 0x7 == 0x7 { return .avx2 }      // avx2, avx2_vnni
        if isa & 0x3 == 0x3 { return .avx }
        return .sse
    }

    /// oneDNN's name of a `dnnl_cpu_isa_t` value.
    static func oneDNNISAName(_ isa: Int32) -> String {
        switch isa {
        case 0x1: return "sse41"
        case 0x3: return "avx"
        case 0x7: return "avx2"
        case 0x407: return "avx2_vnni"
        case 0x27: return "avx512_core"
        case 0x67: return "avx512_core_vnni"
        case 0xe7: return "avx512_core_bf16"
        case 0x3e7: return "avx512_core_amx"
        default: return String(format: "isa 0x%x", isa)
        }
    }
}

/// What the processor supports, from cpuid and XGETBV (the operating system's saved register state).
public struct CPUInfo: Sendable, Equatable {
    public var vendor: String, brand: String
    public var family: Int, model: Int, stepping: Int
    /// Feature flags by their Linux `/proc/cpuinfo` names ("avx2", "fma", "avx512f", "amx_bf16", ...).
    public var flags: Set<String>
    /// The OS saves YMM state (XCR0 bits 1-2), and ZMM and opmask state too (bits 5-7).
    public var osSavesYMM: Bool, osSavesZMM: Bool

    public init(vendor: String = "", brand: String = "", family: Int = 0, model: Int = 0, stepping: Int = 0,
                flags: Set<String>, osSavesYMM: Bool, osSavesZMM: Bool) {
        (self.vendor, self.brand, self.family, self.model, self.stepping) = (vendor, brand, family, model, stepping)
        (self.flags, self.osSavesYMM, self.osSavesZMM) = (flags, osSavesYMM, osSavesZMM)
    }

    /// The processor this process runs on (read once).
    public static let host: CPUInfo = {
        var f = ssm_cpu_features()
        ssm_cpu_detect(&f)
        func text<T>(_ tuple: T) -> String {
            withUnsafeBytes(of: tuple) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        let bits: [(String, Int32)] = [
            ("pni", f.sse3), ("ssse3", f.ssse3), ("sse4_1", f.sse41), ("sse4_2", f.sse42), ("avx", f.avx),
            ("fma", f.fma), ("avx2", f.avx2), ("avx512f", f.avx512f), ("avx512bw", f.avx512bw),
            ("avx512dq", f.avx512dq), ("avx512vl", f.avx512vl), ("avx512_bf16", f.avx512bf16),
            ("avx512_fp16", f.avx512fp16), ("amx_tile", f.amx_tile), ("amx_bf16", f.amx_bf16), ("amx_int8", f.amx_int8),
        ]
        return CPUInfo(vendor: text(f.vendor), brand: text(f.brand), family: Int(f.family), model: Int(f.model),
                       stepping: Int(f.stepping), flags: Set(bits.filter { $0.1 != 0 }.map(\.0)),
                       osSavesYMM: f.os_ymm != 0, osSavesZMM: f.os_zmm != 0)
    }()

    /// The strongest GEMM tier both the processor and the operating system support.
    public var level: SIMDLevel {
        let has = { (names: [String]) in names.allSatisfy(flags.contains) }
        if osSavesZMM && has(["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma"]) { return .avx512 }
        if osSavesYMM && has(["avx2", "fma"]) { return .avx2 }
        if osSavesYMM && has(["avx"]) { return .avx }
        return .sse
    }

    /// "Intel(R) Xeon(R) Processor (GenuineIntel family 6 model 207): AVX-512, AVX512-BF16, AMX-BF16".
    public var summary: String {
        var extras: [String] = []
        if flags.contains("avx512_bf16") { extras.append("AVX512-BF16") }
        if flags.contains("amx_bf16") { extras.append("AMX-BF16") }
        let name = brand.isEmpty ? "unknown processor" : brand
        return "\(name) (\(vendor) family \(family) model \(model)): " + ([level.description] + extras).joined(separator: ", ")
    }
}

/// The libraries `BLAS.sgemm` can run on.
public enum GEMMEngine: String, Sendable, CaseIterable {
    /// OpenBLAS's `cblas_sgemm`, on the DYNAMIC_ARCH kernel it selected (or was re-selected to).
    case openBLAS = "OpenBLAS"
    /// oneDNN's `dnnl_sgemm` (libdnnl.so.2, loaded at run time when present); it picks its JIT kernels by cpuid.
    case oneDNN = "oneDNN"

    /// Whether this engine can run in this process.
    public var isAvailable: Bool {
        switch self {
        case .openBLAS: return true
        case .oneDNN: return ssm_dnnl_available() != 0
        }
    }
}

/// The choice of GEMM engine and OpenBLAS kernel, as a pure function of what was found (so that the
/// policy is tested with injected inputs, never by changing the environment).
///
/// Policy: `OPENBLAS_CORETYPE`, when set by the machine or the user, is respected: OpenBLAS keeps the kernel
/// it names and is never re-selected. The variable configures OpenBLAS, not the toolkit's choice of engine:
/// when OpenBLAS's kernel is weaker than the CPU and oneDNN (which dispatches by cpuid) reaches the CPU's tier,
/// products run on oneDNN; when no engine reaches it, a warning says so. When the variable is unset, no
/// kernel weaker than the CPU supports runs either: OpenBLAS is re-selected to the CPU's core when it detected
/// a weaker one. Among engines that reach the CPU's tier, the one measured fastest on SAM's shapes is used
/// (bench/README.md). `SSMSAM_GEMM=openblas|onednn` picks the engine by hand.
public struct GEMMSelection: Sendable, Equatable {
    public struct Inputs: Sendable, Equatable {
        /// The CPU's tier (`CPUInfo.level`).
        public var cpu: SIMDLevel
        /// `OPENBLAS_CORETYPE` as the process found it.
        public var coreTypeVariable: String?
        /// `openblas_get_corename()` as loaded.
        public var openBLASCore: String
        /// This OpenBLAS exports `gotoblas_dynamic_init`/`_quit`.
        public var canReselect: Bool
        /// oneDNN's kernel tier, nil when oneDNN cannot be loaded.
        public var oneDNN: SIMDLevel?
        /// `SSMSAM_GEMM` as the process found it.
        public var engineVariable: String?

        public init(cpu: SIMDLevel, coreTypeVariable: String?, openBLASCore: String, canReselect: Bool,
                    oneDNN: SIMDLevel?, engineVariable: String? = nil) {
            (self.cpu, self.coreTypeVariable, self.openBLASCore) = (cpu, coreTypeVariable, openBLASCore)
            (self.canReselect, self.oneDNN, self.engineVariable) = (canReselect, oneDNN, engineVariable)
        }
    }

    public var engine: GEMMEngine
    /// The OpenBLAS core to re-select before the first product, nil to keep the loaded one.
    public var reselectOpenBLAS: String?
    /// Why, in a sentence.
    public var reason: String

    /// The engine preferred, by measurement, when nothing is set and both engines reach the CPU's tier:
    /// oneDNN at AVX-512 (8-15% ahead of OpenBLAS SkylakeX on SAM's linear layers, 25-30% on attention's
    /// single-threaded products, `gemm-bench` on an Intel Xeon model 207, bench/README.md); OpenBLAS below,
    /// where the two have not been compared.
    public static func measuredPreference(for level: SIMDLevel) -> GEMMEngine {
        level >= .avx512 ? .oneDNN : .openBLAS
    }

    public static func decide(_ i: Inputs) -> GEMMSelection {
        let loaded = SIMDLevel.ofOpenBLASCore(i.openBLASCore)
        // OpenBLAS: re-select only when the variable is unset, the loaded kernel is known to be weaker
        // than the CPU's, and this OpenBLAS can.
        var reselect: String? = nil
        var openBLASNote: String
        if let set = i.coreTypeVariable {
            openBLASNote = "OPENBLAS_CORETYPE=\(set) is set: respected (OpenBLAS keeps \(i.openBLASCore))"
        } else if let l = loaded, l < i.cpu, let target = i.cpu.openBLASCore {
            if i.canReselect {
                reselect = target
                openBLASNote = "OpenBLAS detected \(i.openBLASCore) (\(l)) on an \(i.cpu) CPU: re-selected \(target)"
            } else {
                openBLASNote = "OpenBLAS detected \(i.openBLASCore) (\(l)) on an \(i.cpu) CPU and cannot re-select"
            }
        } else {
            openBLASNote = "OpenBLAS detected \(i.openBLASCore)"
        }
        let openBLASLevel = reselect.flatMap(SIMDLevel.ofOpenBLASCore) ?? loaded

        if let wanted = i.engineVariable?.lowercased(), !wanted.isEmpty {
            if wanted == "onednn" || wanted == "dnnl" {
                if i.oneDNN != nil {
                    return GEMMSelection(engine: .oneDNN, reselectOpenBLAS: reselect, reason: "SSMSAM_GEMM=\(wanted); \(openBLASNote)")
                }
                return GEMMSelection(engine: .openBLAS, reselectOpenBLAS: reselect,
                                     reason: "SSMSAM_GEMM=\(wanted) but oneDNN (libdnnl.so.2) is not installed; \(openBLASNote)")
            }
            return GEMMSelection(engine: .openBLAS, reselectOpenBLAS: reselect,
                                 reason: wanted == "openblas" ? "SSMSAM_GEMM=openblas; \(openBLASNote)"
                                     : "SSMSAM_GEMM=\(wanted) is not an engine (openblas, onednn); \(openBLASNote)")
        }
        // The fastest engine among those that reach the CPU's tier (OpenBLAS on its loaded, re-selected or set kernel).
        let openBLASFull = openBLASLevel.map { $0 >= i.cpu } ?? false
        let oneDNNFull = i.oneDNN.map { $0 >= i.cpu } ?? false
        let engine: GEMMEngine
        let why: String
        switch (openBLASFull, oneDNNFull) {
        case (true, true):
            engine = measuredPreference(for: i.cpu)
            why = "\(engine.rawValue) measured faster on SAM's shapes at \(i.cpu)"
        case (false, true):
            engine = .oneDNN
            why = "oneDNN reaches \(i.cpu), OpenBLAS does not"
        case (true, false):
            engine = .openBLAS
            why = i.oneDNN == nil ? "oneDNN (libdnnl.so.2) is not installed" : "OpenBLAS reaches \(i.cpu), oneDNN does not"
        case (false, false):
            // Neither is known to reach the CPU's tier: the stronger of what there is.
            let o = i.oneDNN ?? .sse, b = openBLASLevel ?? .sse
            engine = i.oneDNN != nil && o > b ? .oneDNN : .openBLAS
            why = "no engine is known to reach \(i.cpu)"
        }
        return GEMMSelection(engine: engine, reselectOpenBLAS: reselect, reason: "\(why); \(openBLASNote)")
    }
}

/// What `BLAS.sgemm` runs on after the selection was applied (`BLAS.gemm`).
public struct GEMMStatus: Sendable {
    public var cpu: CPUInfo
    public var selection: GEMMSelection
    public var engine: GEMMEngine
    /// OpenBLAS's core before and after the selection (the same when it was not re-selected).
    public var openBLASCoreLoaded: String, openBLASCore: String
    /// oneDNN's version and kernel ISA when it can be loaded.
    public var oneDNNVersion: String?, oneDNNISA: String?
    public var oneDNNLevel: SIMDLevel?
    /// Problems found while applying the selection (a re-selection that did not take).
    public var problems: [String]

    public var reselected: Bool { openBLASCore != openBLASCoreLoaded }

    /// The kernel the engine in use dispatches to, and its tier.
    public var kernel: String {
        engine == .oneDNN ? (oneDNNISA ?? "?") : openBLASCore
    }
    public var level: SIMDLevel? {
        engine == .oneDNN ? oneDNNLevel : SIMDLevel.ofOpenBLASCore(openBLASCore)
    }
    /// True when the engine in use runs weaker kernels than the CPU supports (or its tier is unknown).
    public var weakerThanCPU: Bool { (level ?? .sse) < cpu.level }

    /// One line: "oneDNN 2.6.3 (avx512_core_amx, AVX-512)".
    public var engineLine: String {
        switch engine {
        case .oneDNN: return "oneDNN \(oneDNNVersion ?? "") (\(kernel), \(level?.description ?? "unknown tier"))"
        case .openBLAS: return "OpenBLAS (core \(kernel), \(level?.description ?? "unknown tier"))"
        }
    }

    /// Warnings for `ssmsam doctor`: a kernel weaker than the CPU, a re-selection that failed.
    public var warnings: [String] {
        var w = problems
        if weakerThanCPU {
            var hint = ""
            if selection.engine == .openBLAS, let set = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
                hint = " (OPENBLAS_CORETYPE=\(set) is set; unset it, or set it to \(cpu.level.openBLASCore ?? "the CPU's core"))"
            }
            w.append("GEMM runs \(level?.description ?? "unknown") kernels on an \(cpu.level) CPU\(hint)")
        }
        return w
    }
}

extension BLAS {
    /// Re-runs OpenBLAS's kernel selection as if `OPENBLAS_CORETYPE` were `core` (nil: as the environment
    /// says, i.e. the kernel it chose at load) and returns the core it now runs, for benchmarks comparing
    /// kernels in one process. Not while another thread is in OpenBLAS; the toolkit's own choice is `gemm`.
    @discardableResult
    public static func reselectOpenBLAS(_ core: String?) -> String {
        ssm_openblas_reselect(core)
        return String(cString: openblas_get_corename())
    }

    /// The OpenBLAS core as it is now, without applying the selection (benchmarks; `coreName` applies it).
    public static var openBLASCoreNow: String { String(cString: openblas_get_corename()) }

    /// The GEMM engine and kernel `sgemm` uses: decided and applied once, at first use (thread-safe).
    public static var gemm: GEMMStatus { active }

    @usableFromInline
    static let active: GEMMStatus = {
        let env = ProcessInfo.processInfo.environment
        let cpu = CPUInfo.host
        let loaded = String(cString: openblas_get_corename())
        let dnnl = ssm_dnnl_available() != 0
        let dnnlISA = dnnl ? ssm_dnnl_isa() : -1
        let dnnlLevel = dnnl ? SIMDLevel.ofOneDNNISA(dnnlISA) : nil
        let selection = GEMMSelection.decide(.init(
            cpu: cpu.level, coreTypeVariable: env["OPENBLAS_CORETYPE"], openBLASCore: loaded,
            canReselect: ssm_openblas_can_reselect() != 0, oneDNN: dnnlLevel, engineVariable: env["SSMSAM_GEMM"]))
        var problems: [String] = []
        if let target = selection.reselectOpenBLAS {
            // Before any product has run (this runs once, at the first), so no thread is inside OpenBLAS.
            ssm_openblas_reselect(target)
            let now = String(cString: openblas_get_corename())
            if now.lowercased() != target.lowercased() {
                problems.append("re-selecting OpenBLAS's \(target) kernel gave \(now); back to the one it detected")
                ssm_openblas_reselect(nil)
            }
        }
        return GEMMStatus(cpu: cpu, selection: selection, engine: selection.engine, openBLASCoreLoaded: loaded,
                          openBLASCore: String(cString: openblas_get_corename()),
                          oneDNNVersion: dnnl ? String(cString: ssm_dnnl_version()) : nil,
                          oneDNNISA: dnnl ? SIMDLevel.oneDNNISAName(dnnlISA) : nil, oneDNNLevel: dnnlLevel,
                          problems: problems)
    }()
}
