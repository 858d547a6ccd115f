// swift-tools-version:6.0
import PackageDescription

// Layers depend one way, top to bottom:
//   C shims (CBLAS, ...) -> TensorCore -> Formats -> (SAM -> SSMSAM -> FewShot) -> ssmsam CLI
//   C shims (CPNG, CJPEG, CNIfTI) -> Imaging -> MedicalData -> (FewShot) -> ssmsam CLI
let package = Package(
    name: "SSMSAM",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "Formats", targets: ["Formats"]),
        .library(name: "SAM", targets: ["SAM"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "MedicalData", targets: ["MedicalData"]),
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
        // Vectorised inner loops (softmax with a vector exp, attention's relative-position add).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // C shims over system image/volume libraries. They are C targets rather than module maps
        // because libpng and libjpeg report errors by longjmp (which must stay in C) and niftilib's
        // headers need a private include redirect (see Sources/CNIfTI/nifti-include).
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png")]),
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        .target(name: "CNIfTI", cSettings: [.headerSearchPath("nifti-include")],
                linkerSettings: [.linkedLibrary("nifti2"), .linkedLibrary("znz"),
                                 .linkedLibrary("z"), .linkedLibrary("m")]),

        // 8-bit images: PNG/JPEG input, PNG output, mask tints, contours and points.
        .target(name: "Imaging", dependencies: ["CPNG", "CJPEG"]),

        // Medical volumes (NIfTI), intensity presets, label maps, datasets and the few-shot protocol's
        // data layer (settings, folds, chunks, episodes, 3-D Dice). Deliberately independent of TensorCore.
        .target(name: "MedicalData", dependencies: ["CNIfTI", "Imaging"]),

        // Float32 tensors, CPU kernels on OpenBLAS, reverse-mode autodiff, optimisers.
        .target(name: "TensorCore", dependencies: ["CBLAS", "CSystem", "CKernels"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),

        // Checkpoint and array formats: safetensors, .npy, .pth, ONNX; StateDict.
        .target(name: "Formats", dependencies: ["TensorCore"]),

        // The Segment Anything Model: image encoders, prompt encoder, mask decoder, pre/post-processing.
        .target(name: "SAM", dependencies: ["TensorCore", "Formats"]),

        // The command-line tool: thin commands over the libraries.
        .executableTarget(name: "ssmsam", dependencies: [
            "TensorCore", "Formats", "SAM", "Imaging", "MedicalData",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Benchmarks (bench/README.md): never part of `swift test`.
        .executableTarget(name: "gemm-bench", dependencies: ["TensorCore"], path: "bench/gemm"),
        .executableTarget(name: "sam-bench", dependencies: ["SAM", "Formats", "TensorCore"], path: "bench/sam"),

        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "Formats"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "SAMTests", dependencies: ["SAM", "TensorCore", "Formats"], exclude: ["Fixtures"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"], exclude: ["Fixtures"]),
        .testTarget(name: "MedicalDataTests", dependencies: ["MedicalData", "Imaging"],
                    exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
