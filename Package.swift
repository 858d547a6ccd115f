// swift-tools-version:6.0
import PackageDescription

// Layers depend one way, top to bottom:
//   Diagnostics (the one error type) under everything
//   C shims, FileIO -> TensorCore -> Formats -> NN -> SAM -> SSMSAM -> FewShot -> Zoo -> ssmsam CLI
//   C shims, FileIO -> Imaging -> MedicalData (independent of TensorCore) -> ssmsam CLI
//   C shims (CPNG, CJPEG, CNIfTI, CGDCM) -> Imaging -> MedicalData -> FewShot -> ssmsam CLI
//   SSMSAM -> FewShot (few-shot learning joins the model and the protocol's data layer)
let package = Package(
    name: "SSMSAM",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Diagnostics", targets: ["Diagnostics"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "Formats", targets: ["Formats"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "SAM", targets: ["SAM"]),
        .library(name: "SSMSAM", targets: ["SSMSAM"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "MedicalData", targets: ["MedicalData"]),
        .library(name: "Zoo", targets: ["Zoo"]),
        .library(name: "FewShot", targets: ["FewShot"]),
        .executable(name: "ssmsam", targets: ["ssmsam"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // System libraries (Debian packages, installed by scripts/setup).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CArchive", path: "Sources/CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"])]),
        // The 2-D FFT of SSM-SAM's high-pass adapter feature (KISS FFT, float build; Debian: libkissfft-dev).
        // No pkgConfig: its file carries only -D flags that SwiftPM refuses (see Sources/CKissFFT/shim.h).
        .systemLibrary(name: "CKissFFT", path: "Sources/CKissFFT"),

        .systemLibrary(name: "CSystem", path: "Sources/CSystem"),
        // The GEMM engines' C side: cpuid/XGETBV, re-selecting OpenBLAS's kernel, oneDNN loaded at run time.
        .target(name: "CGEMM", linkerSettings: [.linkedLibrary("dl")]),
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
        // DICOM through GDCM (Debian libgdcm-dev, which decodes JPEG 2000): C++ behind a small C header
        // (Sources/CGDCM/include/cgdcm.h). GDCM ships no pkg-config file; its headers live in a versioned folder.
        .target(name: "CGDCM", cxxSettings: [.unsafeFlags(["-I/usr/include/gdcm-3.0"])],
                linkerSettings: [.linkedLibrary("gdcmMSFF"), .linkedLibrary("gdcmDSED"), .linkedLibrary("gdcmDICT"),
                                 .linkedLibrary("gdcmIOD"), .linkedLibrary("gdcmCommon"), .linkedLibrary("stdc++")]),

        // 8-bit images: PNG/JPEG input, PNG output, mask tints, contours and points.
        .target(name: "Imaging", dependencies: ["CPNG", "CJPEG", "FileIO", "Diagnostics"]),

        // Medical volumes (NIfTI files, DICOM series), intensity presets, label maps, datasets and the few-shot protocol's
        // data layer (settings, folds, chunks, episodes, 3-D Dice). Deliberately independent of TensorCore.
        .target(name: "MedicalData", dependencies: ["CNIfTI", "CGDCM", "Imaging", "Diagnostics", "FileIO"]),

        // The toolkit's one error type (kind, file or object, message), shared by every module.
        .target(name: "Diagnostics"),

        // Atomic file writing (temporary name + rename), shared by every module that writes files.
        .target(name: "FileIO", dependencies: ["Diagnostics"]),

        // Float32 tensors, CPU kernels on the GEMM engine the CPU supports, reverse-mode autodiff, optimisers;
        // the FFT high-pass on KISS FFT. Built with the default -O (not -Ounchecked): its shape preconditions are
        // its error mechanism and hold in release builds too; the hot loops run on unsafe pointers or in C.
        .target(name: "TensorCore", dependencies: ["CBLAS", "CGEMM", "CSystem", "CKernels", "CKissFFT", "Diagnostics"]),

        // Checkpoint and array formats: safetensors, .npy, .pth, ONNX; StateDict.
        // ONNX protobuf messages: C generated by protoc-c from Formats/onnx/onnx_subset.proto and
        // committed, so builds need only libprotobuf-c (Debian: libprotobuf-c-dev).
        .target(name: "CONNX", path: "Formats/onnx", exclude: ["onnx_subset.proto"],
                publicHeadersPath: ".", linkerSettings: [.linkedLibrary("protobuf-c")]),
        .target(name: "Formats", dependencies: ["TensorCore", "FileIO", "CArchive", "CONNX", "Diagnostics"]),

        // Modules as named trees of parameters and buffers (bind, initialise, freeze, group, snapshot,
        // export) and the generic layers (Linear, norms, convolutions, MLPs, multi-head attention).
        .target(name: "NN", dependencies: ["TensorCore", "Formats", "Diagnostics"]),

        // The Segment Anything Model: image encoders, prompt encoder, mask decoder, pre/post-processing.
        .target(name: "SAM", dependencies: ["TensorCore", "Formats", "NN", "Diagnostics"]),

        // SSM-SAM: adapters, the self-sampler, FMAD and the losses on a frozen SAM encoder.
        .target(name: "SSMSAM", dependencies: [
            "TensorCore", "Formats", "FileIO", "NN", "SAM", "Diagnostics",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        // Few-shot learning: the online optimiser (learned per-layer per-step rates), plain fine-tuning, the
        // first-order MAML++ meta-learner with its multi-step loss, training episodes and resumable training state.
        .target(name: "FewShot", dependencies: [
            "SSMSAM", "SAM", "NN", "TensorCore", "Formats", "MedicalData", "Imaging", "Diagnostics", "FileIO",
        ]),

        // The model zoo: packages of each model family (SAM; SSM-SAM meta-initialisations as deltas on a SAM base),
        // manifests (signed with Ed25519), a local registry, verification that reruns the golden inputs (and,
        // for SSM-SAM, the golden 1-shot adaptation).
        .target(name: "Zoo", dependencies: [
            "TensorCore", "Formats", "NN", "SAM", "SSMSAM", "FewShot", "Imaging", "CArchive", "Diagnostics", "FileIO",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        // The command-line tool: thin commands over the libraries.
        .executableTarget(name: "ssmsam", dependencies: [
            "TensorCore", "Formats", "NN", "SAM", "SSMSAM", "FewShot", "Imaging", "MedicalData", "Zoo", "Diagnostics", "FileIO",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Benchmarks (bench/README.md): never part of `swift test`.
        .executableTarget(name: "gemm-bench", dependencies: ["TensorCore"], path: "bench/gemm"),
        .executableTarget(name: "sam-bench", dependencies: ["SAM", "SSMSAM", "NN", "Formats", "TensorCore", "Diagnostics"], path: "bench/sam"),

        // Shared by the test targets: running the built CLI, and the assets not in the repository (skip, or fail in CI).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "CKernels", "Formats", "Diagnostics", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TensorCore", "Formats", "Diagnostics"]),
        .testTarget(name: "SSMSAMTests", dependencies: ["SSMSAM", "SAM", "NN", "TensorCore", "Formats", "Diagnostics", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "SAMTests", dependencies: ["SAM", "NN", "TensorCore", "Formats", "Diagnostics", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"], exclude: ["Fixtures"]),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "FileIO", "TensorCore", "Diagnostics", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ZooTests", dependencies: ["Zoo", "SAM", "SSMSAM", "FewShot", "Formats", "TensorCore", "Imaging", "TestSupport"]),
        .testTarget(name: "FewShotTests", dependencies: ["FewShot", "SSMSAM", "SAM", "NN", "TensorCore", "Formats",
                                                         "MedicalData", "Diagnostics", "TestSupport"],
                    exclude: ["Fixtures"]),
        // The CLI's own structure (its --help examples parse); the executable is imported for testing.
        .testTarget(name: "CLITests", dependencies: ["ssmsam", "TestSupport",
                                                    .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "MedicalDataTests", dependencies: ["MedicalData", "Imaging", "Diagnostics", "TestSupport"],
                    exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
