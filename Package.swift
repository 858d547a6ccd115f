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
        .executable(name: "ssmsam", targets: ["ssmsam"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian packages, installed by scripts/setup).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CArchive", path: "Sources/CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"])]),

        // Float32 tensors, CPU kernels on OpenBLAS, reverse-mode autodiff, optimisers.
        .target(name: "TensorCore", dependencies: ["CBLAS"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),

        // Checkpoint and array formats: safetensors, .npy, .pth, ONNX; StateDict.
        .target(name: "Formats", dependencies: ["TensorCore", "CArchive"],
                exclude: ["FORMATS.md"]),

        // The command-line tool: thin commands over the libraries.
        .executableTarget(name: "ssmsam", dependencies: [
            "TensorCore", "Formats",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "Formats"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "TensorCore"],
                    exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
