import Diagnostics

/// An 8-bit image: `height` rows of `width` pixels, each with 1 (grey) or 3 (RGB) interleaved channels,
/// row-major with the top row first.
public struct Image8: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// 1 (grey) or 3 (RGB).
    public let channels: Int
    /// `width * height * channels` samples.
    public var pixels: [UInt8]

    /// Wraps existing pixels; throws when the count does not match the shape.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard width >= 0, height >= 0 else {
            throw ToolkitError(.invalidArgument, "image size must be non-negative, got \(width)x\(height)")
        }
        guard channels == 1 || channels == 3 else {
            throw ToolkitError(.invalidArgument, "channels must be 1 (grey) or 3 (RGB), got \(channels)")
        }
        guard pixels.count == width * height * channels else {
            throw ToolkitError(.invalidArgument, "expected \(width)x\(height)x\(channels) = \(width * height * channels) samples, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A uniform image filled with `value` in every channel.
    public init(width: Int, height: Int, channels: Int, fill value: UInt8 = 0) {
        precondition(width >= 0 && height >= 0 && (channels == 1 || channels == 3))
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = [UInt8](repeating: value, count: width * height * channels)
    }

    /// The sample at column `x`, row `y`, channel `c`.
    @inlinable
    public subscript(x: Int, y: Int, c: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    /// The image read as a binary mask, one flag per pixel: inside where the first channel is above 127 (how a
    /// mask PNG is read everywhere, whatever its channel count).
    public var binaryMask: [Bool] { stride(from: 0, to: pixels.count, by: channels).map { pixels[$0] > 127 } }

    /// The image with 3 channels (grey repeated); RGB images are returned unchanged.
    public func rgb() -> Image8 {
        if channels == 3 { return self }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            let v = pixels[i]
            out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v
        }
        return try! Image8(width: width, height: height, channels: 3, pixels: out)
    }

    /// The image with 1 channel; RGB is converted with the ITU-R BT.601 luma weights (as libjpeg and PIL do).
    public func grey() -> Image8 {
        if channels == 1 { return self }
        var out = [UInt8](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            let r = Int(pixels[3 * i]), g = Int(pixels[3 * i + 1]), b = Int(pixels[3 * i + 2])
            out[i] = UInt8((r * 299 + g * 587 + b * 114 + 500) / 1000)
        }
        return try! Image8(width: width, height: height, channels: 1, pixels: out)
    }
}
