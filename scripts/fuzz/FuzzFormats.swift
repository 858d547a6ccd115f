// libFuzzer entry point for the weight-format readers. Built by scripts/fuzz/run.sh together with the
// TensorCore and Formats sources as one module, so internal readers (Unpickler, ZipArchive) are reachable.
// The reader under test is chosen by the FUZZ_TARGET environment variable:
//   pickle, pth, legacy, safetensors, npy, npz, onnx
// Any thrown ToolkitError is an expected outcome; a crash, trap or sanitizer report is a finding.
import Foundation

private let target = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? "pth"
private let onnxDir: URL = {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("ssmsam-fuzz-onnx-\(getpid())")
    try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    try? Data(repeating: 7, count: 4096).write(to: d.appendingPathComponent("weights.bin"))
    return d
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let data = Data(bytes: bytes, count: size)
    let file = "fuzz-input"
    do {
        switch target {
        case "pickle":
            let v = try Unpickler.load(data, file: file)
            _ = try? StateDictSelector.select(v, key: nil, file: file)
        case "pth": _ = try TorchZipReader.parse(data, file: file)
        case "legacy": _ = try TorchLegacyReader.parse(data, file: file)
        case "safetensors": _ = try SafeTensors.parse(data, file: file)
        case "npy": _ = try Numpy.parse(data, file: file)
        case "npz": _ = try Numpy.readArchive(ZipArchive.parse(data, file: file))
        case "onnx": _ = try ONNXReader.parse(data, url: onnxDir.appendingPathComponent("model.onnx"))
        default: fatalError("unknown FUZZ_TARGET \(target)")
        }
    } catch is ToolkitError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
