import Foundation

/// ONNX models (placeholder until the protobuf-c reader lands).
public enum ONNXReader {
    public static func parse(_ data: Data, url: URL) throws -> StateDict {
        throw FormatError(file: url.path, "ONNX is not supported yet")
    }
}
