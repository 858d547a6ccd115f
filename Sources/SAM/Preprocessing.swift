import Diagnostics
import TensorCore

/// SAM's input pipeline (`ResizeLongestSide` + `Sam.preprocess`) and the matching coordinate transform.
public struct SAMPreprocessing: Sendable {
    /// Side of the square model input (1024 for the official models).
    public let modelSize: Int
    public static let pixelMean: [Float] = [123.675, 116.28, 103.53]
    public static let pixelStd: [Float] = [58.395, 57.12, 57.375]

    public init(modelSize: Int) { self.modelSize = modelSize }

    /// `get_preprocess_shape`: (height, width) after scaling the longest side to `modelSize`, rounded half up.
    public func resizedSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let scale = Double(modelSize) / Double(max(height, width))
        return (Int(Double(height) * scale + 0.5), Int(Double(width) * scale + 0.5))
    }

    /// An 8-bit RGB image (height x width x 3, row-major) to the model input (1, 3, S, S): Pillow bilinear
    /// resize, normalisation on the 0-255 scale, zero padding right and bottom. Also returns the resized size.
    /// Throws `ToolkitError` for a pixel count that does not fit the size, or an image too elongated to resize.
    public func modelInput(rgb: [UInt8], width: Int, height: Int) throws -> (input: Tensor, resized: (height: Int, width: Int)) {
        guard width > 0, height > 0, rgb.count == width * height * 3 else {
            throw ToolkitError(.invalidArgument, "\(rgb.count) bytes for a \(width) x \(height) RGB image, expected \(max(width, 0) * max(height, 0) * 3)")
        }
        let size = resizedSize(height: height, width: width)
        guard size.height > 0, size.width > 0 else {
            throw ToolkitError(.unsupported, "a \(width) x \(height) image resizes to \(size.width) x \(size.height) at \(modelSize) px: too elongated for SAM")
        }
        let pixels = PillowResize.resize(rgb, width: width, height: height, channels: 3, newWidth: size.width, newHeight: size.height)
        var input = Tensor.zeros([1, 3, modelSize, modelSize])
        for c in 0..<3 {
            let mean = Self.pixelMean[c], std = Self.pixelStd[c]
            for y in 0..<size.height { for x in 0..<size.width {
                input.data[(c * modelSize + y) * modelSize + x] = (Float(pixels[(y * size.width + x) * 3 + c]) - mean) / std
            } }
        }
        return (input, size)
    }

    /// A binary mask of an image's pixels (row-major, `width` x `height`, true inside) in the model's input
    /// frame (1, 1, S, S), 1 inside: nearest-neighbour resized as the image is (pixel centres mapped), zero in
    /// the padding. The caller checks that the mask has `width * height` pixels.
    public func framedMask(_ mask: [Bool], width: Int, height: Int) -> Tensor {
        let s = modelSize
        let (rh, rw) = resizedSize(height: height, width: width)
        let resized = Self.nearestResampled(mask, from: (width, height), to: (rw, rh))
        var out = Tensor.zeros([1, 1, s, s])
        for r in 0..<rh { for c in 0..<rw where resized[r * rw + c] { out.data[r * s + c] = 1 } }
        return out
    }

    /// A row-major mask resampled to another size by nearest neighbour (the pixel centre of each output pixel
    /// mapped into the input); the mask itself when the sizes are equal.
    public static func nearestResampled(_ mask: [Bool], from: (width: Int, height: Int), to: (width: Int, height: Int)) -> [Bool] {
        if from == to { return mask }
        var out = [Bool](repeating: false, count: to.width * to.height)
        for r in 0..<to.height {
            let sr = Swift.min(from.height - 1, Int((Double(r) + 0.5) * Double(from.height) / Double(to.height)))
            for c in 0..<to.width {
                let sc = Swift.min(from.width - 1, Int((Double(c) + 0.5) * Double(from.width) / Double(to.width)))
                out[r * to.width + c] = mask[sr * from.width + sc]
            }
        }
        return out
    }

    /// `apply_coords`: a point in original pixels to the model's input frame.
    public func transform(x: Float, y: Float, originalHeight: Int, originalWidth: Int) -> (x: Float, y: Float) {
        let size = resizedSize(height: originalHeight, width: originalWidth)
        return (Float(Double(x) * Double(size.width) / Double(originalWidth)),
                Float(Double(y) * Double(size.height) / Double(originalHeight)))
    }

    /// A prompt point in original pixels to the model's input frame (label kept).
    public func transform(_ point: PromptPoint, originalHeight: Int, originalWidth: Int) -> PromptPoint {
        let p = transform(x: point.x, y: point.y, originalHeight: originalHeight, originalWidth: originalWidth)
        return PromptPoint(x: p.x, y: p.y, label: point.label)
    }

    /// A box in original pixels to the model's input frame.
    public func transform(_ box: PromptBox, originalHeight: Int, originalWidth: Int) -> PromptBox {
        let a = transform(x: box.x0, y: box.y0, originalHeight: originalHeight, originalWidth: originalWidth)
        let b = transform(x: box.x1, y: box.y1, originalHeight: originalHeight, originalWidth: originalWidth)
        return PromptBox(x0: a.x, y0: a.y, x1: b.x, y1: b.y)
    }
}
