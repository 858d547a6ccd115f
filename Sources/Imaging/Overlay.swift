import Diagnostics

/// Drawing on images: mask tints, mask contours and point markers. Masks are row-major `width * height`
/// arrays where any non-zero value is "inside".
extension Image8 {
    /// Blends `colour` over every pixel inside `mask` with opacity `alpha` (0...1). Grey images become RGB.
    public func tinted(mask: [UInt8], colour: RGB, alpha: Float) throws -> Image8 {
        try checkMask(mask)
        var out = rgb()
        let a = max(0, min(1, alpha))
        let c = [Float(colour.r), Float(colour.g), Float(colour.b)]
        for i in 0..<(width * height) where mask[i] != 0 {
            for k in 0..<3 {
                let v = Float(out.pixels[3 * i + k]) * (1 - a) + c[k] * a
                out.pixels[3 * i + k] = UInt8(max(0, min(255, v.rounded())))
            }
        }
        return out
    }

    /// A mask shown as most overlays here show it: tinted in `fill` at `alpha`, its boundary in `outline`.
    public func highlighted(mask: [UInt8], fill: RGB, outline: RGB, alpha: Float = 0.45) throws -> Image8 {
        try tinted(mask: mask, colour: fill, alpha: alpha).contoured(mask: mask, colour: outline)
    }

    /// Paints the boundary of `mask` (inside pixels with a 4-neighbour outside or on the image border)
    /// in `colour`, `thickness` pixels wide (grown inwards). Grey images become RGB.
    public func contoured(mask: [UInt8], colour: RGB, thickness: Int = 1) throws -> Image8 {
        try checkMask(mask)
        var out = rgb()
        for (x, y) in Image8.boundary(mask: mask, width: width, height: height, thickness: thickness) {
            out.setPixel(x: x, y: y, colour)
        }
        return out
    }

    /// Draws a filled disc of `radius` pixels at each point (x = column, y = row), with a 1-pixel white ring
    /// so markers stay visible on any background. Grey images become RGB.
    public func marked(points: [(x: Int, y: Int)], colour: RGB, radius: Int = 3) -> Image8 {
        var out = rgb()
        let r = max(1, radius)
        for p in points {
            for dy in -(r + 1)...(r + 1) {
                for dx in -(r + 1)...(r + 1) {
                    let x = p.x + dx, y = p.y + dy
                    guard x >= 0, y >= 0, x < width, y < height else { continue }
                    let d2 = dx * dx + dy * dy
                    if d2 <= r * r { out.setPixel(x: x, y: y, colour) }
                    else if d2 <= (r + 1) * (r + 1) { out.setPixel(x: x, y: y, .white) }
                }
            }
        }
        return out
    }

    /// The pixels of `mask`'s boundary, `thickness` pixels deep.
    public static func boundary(mask: [UInt8], width: Int, height: Int, thickness: Int = 1) -> [(Int, Int)] {
        var result: [(Int, Int)] = []
        let t = max(1, thickness)
        func inside(_ x: Int, _ y: Int) -> Bool {
            x >= 0 && y >= 0 && x < width && y < height && mask[y * width + x] != 0
        }
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] != 0 {
                // On the boundary when some pixel within `thickness` steps (Manhattan distance) is outside.
                var edge = false
                search: for dy in -t...t {
                    for dx in -t...t where abs(dx) + abs(dy) <= t && (dx != 0 || dy != 0) {
                        if !inside(x + dx, y + dy) { edge = true; break search }
                    }
                }
                if edge { result.append((x, y)) }
            }
        }
        return result
    }

    /// Paints one pixel of an RGB image; pixels outside the image are ignored.
    mutating func setPixel(x: Int, y: Int, _ c: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.r; pixels[i + 1] = c.g; pixels[i + 2] = c.b
    }

    private func checkMask(_ mask: [UInt8]) throws {
        guard mask.count == width * height else {
            throw ToolkitError(.invalidArgument, "mask has \(mask.count) pixels, the image \(width)x\(height) = \(width * height)")
        }
    }
}

extension Image8 {
    /// The image enlarged `factor` times by pixel repetition (for looking at small slices).
    public func zoomed(_ factor: Int) -> Image8 {
        guard factor > 1 else { return self }
        var out = Image8(width: width * factor, height: height * factor, channels: channels)
        for y in 0..<out.height { for x in 0..<out.width { for c in 0..<channels {
            out[x, y, c] = self[x / factor, y / factor, c]
        } } }
        return out
    }

    /// Images placed left to right on a black background (RGB), top-aligned, `gap` pixels apart.
    public static func sideBySide(_ images: [Image8], gap: Int) -> Image8 {
        let width = images.reduce(0) { $0 + $1.width } + gap * max(0, images.count - 1)
        let height = images.map(\.height).max() ?? 0
        var out = Image8(width: width, height: height, channels: 3)
        var x0 = 0
        for image in images {
            let rgb = image.rgb()
            for y in 0..<rgb.height { for x in 0..<rgb.width { for c in 0..<3 { out[x0 + x, y, c] = rgb[x, y, c] } } }
            x0 += rgb.width + gap
        }
        return out
    }
}
