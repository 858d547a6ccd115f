/// A small built-in bitmap font for labels on charts and panels: 3 x 5 glyphs drawn at 2 x 2 pixels per dot (8
/// pixels per character, 10 rows tall). Digits, '.', '-', '+', '_', ':', '=', '/', 'e' (numbers' exponents) and
/// capitals: callers upper-case their words; a space or an unknown character is blank.
public enum PixelFont {
    /// Pixels per character along a line, and the height of a line.
    public static let advance = 8, lineHeight = 10

    /// The width `text` takes when drawn.
    public static func width(of text: String) -> Int { advance * text.count }

    /// Draws `text` with its top-left corner at (`x`, `y`), `scale` times the base size (1: 8 pixels per
    /// character); pixels outside the image are skipped.
    public static func draw(_ text: String, on image: inout Image8, x: Int, y: Int, colour: RGB, scale: Int = 1) {
        let dot = 2 * Swift.max(scale, 1), step = advance * Swift.max(scale, 1)
        for (k, ch) in text.enumerated() {
            guard let rows = glyphs[ch] else { continue }
            for (r, bits) in rows.enumerated() { for col in 0..<3 where bits & (4 >> col) != 0 {
                for dy in 0..<dot { for dx in 0..<dot { image.setPixel(x: x + step * k + dot * col + dx, y: y + dot * r + dy, colour) } }
            } }
        }
    }

    /// Rows top to bottom, 3 bits each, most significant bit left.
    private static let glyphs: [Character: [UInt8]] = [
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7], "4": [5, 5, 7, 1, 1],
        "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 1, 1, 1], "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7],
        ".": [0, 0, 0, 0, 2], "-": [0, 0, 7, 0, 0], "+": [0, 2, 7, 2, 0], "_": [0, 0, 0, 0, 7], ":": [0, 2, 0, 2, 0],
        "=": [0, 7, 0, 7, 0], "/": [1, 1, 2, 4, 4], "e": [0, 7, 7, 4, 7],
        "A": [2, 5, 7, 5, 5], "B": [6, 5, 6, 5, 6], "C": [3, 4, 4, 4, 3], "D": [6, 5, 5, 5, 6], "E": [7, 4, 6, 4, 7],
        "F": [7, 4, 6, 4, 4], "G": [3, 4, 5, 5, 3], "H": [5, 5, 7, 5, 5], "I": [7, 2, 2, 2, 7], "J": [1, 1, 1, 5, 2],
        "K": [5, 5, 6, 5, 5], "L": [4, 4, 4, 4, 7], "M": [5, 7, 7, 5, 5], "N": [6, 5, 5, 5, 5], "O": [2, 5, 5, 5, 2],
        "P": [6, 5, 6, 4, 4], "Q": [2, 5, 5, 6, 3], "R": [6, 5, 6, 5, 5], "S": [3, 4, 2, 1, 6], "T": [7, 2, 2, 2, 2],
        "U": [5, 5, 5, 5, 7], "V": [5, 5, 5, 5, 2], "W": [5, 5, 7, 7, 5], "X": [5, 5, 2, 5, 5], "Y": [5, 5, 2, 2, 2],
        "Z": [7, 1, 2, 4, 7],
    ]
}

extension Image8 {
    /// The image (as RGB) under a black band holding `caption` in white capitals, left-aligned: a panel's title,
    /// its letters scaled with the panel (one step per 256 pixels of width) so that they stay readable.
    public func captioned(_ caption: String) -> Image8 {
        let scale = Swift.max(1, width / 256)
        let band = (PixelFont.lineHeight + 8) * scale
        var out = Image8(width: width, height: height + band, channels: 3)
        let rgb = self.rgb()
        for y in 0..<height { for x in 0..<width { for c in 0..<3 { out[x, y + band, c] = rgb[x, y, c] } } }
        PixelFont.draw(caption.uppercased(), on: &out, x: 4 * scale, y: 4 * scale, colour: RGB(255, 255, 255), scale: scale)
        return out
    }
}
