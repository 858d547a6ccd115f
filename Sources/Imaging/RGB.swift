/// An 8-bit RGB colour for overlays.
public struct RGB: Equatable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r; self.g = g; self.b = b
    }

    public static let red = RGB(230, 40, 40)
    public static let green = RGB(40, 200, 60)
    public static let blue = RGB(50, 110, 240)
    public static let yellow = RGB(240, 220, 40)
    public static let cyan = RGB(40, 210, 220)
    public static let magenta = RGB(220, 60, 200)
    public static let orange = RGB(245, 150, 30)
    public static let white = RGB(255, 255, 255)

    /// A fixed, distinguishable palette for label ids (cycled).
    public static let palette: [RGB] = [.red, .green, .blue, .yellow, .cyan, .magenta, .orange]
}
