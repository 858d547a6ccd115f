/// A prompt point in the model's input frame (pixels of the resized, padded image).
public struct PromptPoint: Equatable, Sendable {
    public var x: Float, y: Float
    /// 1 foreground, 0 background (-1 is the internal padding point).
    public var label: Int
    public init(x: Float, y: Float, label: Int = 1) { (self.x, self.y, self.label) = (x, y, label) }
}

/// A box (x0, y0, x1, y1) in the model's input frame.
public struct PromptBox: Equatable, Sendable {
    public var x0: Float, y0: Float, x1: Float, y1: Float
    public init(x0: Float, y0: Float, x1: Float, y1: Float) { (self.x0, self.y0, self.x1, self.y1) = (x0, y0, x1, y1) }
}
