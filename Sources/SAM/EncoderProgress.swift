/// Progress of an image encoder run, for long encodings (a vit_h image takes tens of seconds on a CPU).
///
/// A task-local observer rather than a parameter, so every caller of an encoder (the predictor, the zoo's
/// golden runner, the feature cache) reports progress without each API growing an argument.
public enum EncoderProgress {
    /// Called after each encoder block with (blocks done, blocks in all); nil (the default) reports nothing.
    @TaskLocal public static var observer: (@Sendable (_ done: Int, _ total: Int) -> Void)?

    /// Runs `body` with `observer` receiving every block finished inside it.
    public static func reporting<R>(to observer: @escaping @Sendable (_ done: Int, _ total: Int) -> Void,
                                    _ body: () throws -> R) rethrows -> R {
        try $observer.withValue(observer, operation: body)
    }

    /// Reports block `index` (0-based) of `total` finished.
    static func finished(block index: Int, of total: Int) { observer?(index + 1, total) }
}
