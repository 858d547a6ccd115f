import ArgumentParser
import NN
import SAM
import TensorCore

/// `--precision fp32|bf16`: the arithmetic of the model's weight products (encode, segment, eval).
struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "fp32 (default), or bf16: the weight products' inputs in bfloat16 with fp32 accumulation, on AMX-BF16 or AVX512-BF16 (oneDNN); faster, about 3 significant digits. Refused on a CPU with neither.",
        valueName: "fp32|bf16"))
    var precision: String = GEMMPrecision.fp32.rawValue

    /// Checked when the arguments are parsed, before any model is loaded.
    func validate() throws { _ = try chosen() }

    /// The chosen precision, or a usage error naming the accepted values.
    func chosen() throws -> GEMMPrecision {
        guard let p = GEMMPrecision(rawValue: precision.lowercased()) else {
            throw ValidationError("--precision must be fp32 or bf16, got '\(precision)'")
        }
        return p
    }

    /// The bf16 copies of a module's weights when bf16 is chosen (nil for fp32), or the refusal's reason.
    func weights(for module: any Module) throws -> BF16Weights? {
        try chosen() == .bf16 ? module.convertedToBF16() : nil
    }

    /// `model` in the chosen precision (its weights converted once, here).
    func apply(_ model: SAMModel) throws -> SAMModel { try model.inPrecision(chosen()) }
}
