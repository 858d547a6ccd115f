// swift-tools-version:6.0
import PackageDescription

// Layers depend one way, top to bottom:
//   C shims (CBLAS, ...) -> TensorCore -> Formats -> (SAM -> SSMSAM -> FewShot) -> ssmsam CLI
let package = Package(
    name: "SSMSAM",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "Formats", targets: ["Formats"]),
        .library(name: "SAM", targets: ["SAM"]),
        .executable(name: "ssmsam", targets: ["ssmsam"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian packages, installed by scripts/setup).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),

        .systemLibrary(name: "CSystem", path: "Sources/CSystem"),

        // Float32 tensors, CPU kernels on OpenBLAS, reverse-mode autodiff, optimisers.
        .target(name: "TensorCore", dependencies: ["CBLAS", "CSystem"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),

        // Checkpoint and array formats: safetensors, .npy, .pth, ONNX; StateDict.
        .target(name: "Formats", dependencies: ["TensorCore"]),

        // The Segment Anything Model: image encoders, prompt encoder, mask decoder, pre/post-processing.
        .target(name: "SAM", dependencies: ["TensorCore", "Formats"]),

        // The command-line tool: thin commands over the libraries.
        .executableTarget(name: "ssmsam", dependencies: [
            "TensorCore", "Formats", "SAM",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Benchmarks (bench/README.md): never part of `swift test`.
        .executableTarget(name: "gemm-bench", dependencies: ["TensorCore"], path: "bench/gemm"),
        .executableTarget(name: "sam-bench", dependencies: ["SAM", "Formats", "TensorCore"], path: "bench/sam"),

        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "Formats"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "SAMTests", dependencies: ["SAM", "TensorCore", "Formats"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
