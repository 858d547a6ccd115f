import Diagnostics
import TensorCore

extension Module {
    /// bf16 copies of this module's weights (every matrix and convolution kernel), for `ReducedPrecision.with`;
    /// throws, with the reason, where the CPU or installation cannot run bf16 (`GEMMPrecision.unsupportedReason`).
    public func convertedToBF16() throws -> BF16Weights {
        if let why = GEMMPrecision.unsupportedReason(.bf16) { throw ToolkitError(.unsupported, why) }
        return BF16Weights(parameters.map(\.value))
    }
}
