import ArgumentParser
import Diagnostics
import Foundation
import Formats
import Imaging
import SAM
import TensorCore

/// `ssmsam encode`: the image embedding of one image, optionally timed.
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Write the image embedding (1 x 256 x 64 x 64, float32 .npy) of an image.",
        discussion: """
            Examples:
              ssmsam encode --model vit_b.pth --image ct.png --out embedding.npy
              ssmsam encode --model vit_b.pth --image ct.png --out embedding.npy --precision bf16 --time 5
              ssmsam encode --model enc.onnx --image ct.png --out embedding.npy
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var precision: PrecisionOption
    @Option(help: "The image (PNG or JPEG, grey or RGB).") var image: String
    @Option(help: "Output .npy file.") var out: String
    @Option(help: "Then run the encoder N more times on the same input and print the median.") var time: Int?

    func run() throws {
        try CLIErrors.report {
            try OutputPaths.check([("--out", out)])
            let encoder = try model.loadImageEncoder()
            let bf16 = try precision.weights(for: encoder)
            let picture = try ImageIO.read(URL(fileURLWithPath: image)).rgb()
            let (input, _) = try SAMPreprocessing(modelSize: encoder.inputSize)
                .modelInput(rgb: picture.pixels, width: picture.width, height: picture.height)
            let embedding = ProgressBar.encoding("encoder") { ReducedPrecision.with(bf16) { encoder.encode(input).embedding } }
            try Numpy.write(StoredTensor(embedding), to: URL(fileURLWithPath: out))
            print("wrote \(out): embedding \(embedding.shape)")
            if let n = time, n > 0 {
                var times: [Double] = []
                for i in 1...n {
                    let t0 = Date()
                    _ = ReducedPrecision.with(bf16) { encoder.encode(input) }
                    times.append(Date().timeIntervalSince(t0))
                    FileHandle.standardError.write(Data("encoder run \(i)/\(n): \(String(format: "%.3f", times.last!)) s\n".utf8))
                }
                print(String(format: "encoder median %.3f s", Diagnostics.median(times)!))
            }
        }
    }
}
