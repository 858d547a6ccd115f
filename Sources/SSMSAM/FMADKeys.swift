/// Whose features FMAM's keys are: K = (M' ⊙ F) W_K with the support's blurred mask M' cast on F.
///
/// The paper's Eq. 7 casts M' on the **query** feature F ("to get K and Q"), and the authors' code does the same
/// (`MultiHeadAttention`: `k = k * v` on the query's own map): each query pixel attends to the query's pixels
/// inside the support's region, so the support mask tracks the organ into the adjacent slice. The toolkit's first
/// FMAD cast it on the support's features instead (cross-slice similarity, no spatial prior): models written
/// before this choice existed say nothing and are read as `.support`.
public enum FMADKeys: String, Codable, CaseIterable, Sendable {
    /// K = (M' ⊙ F_query) W_K: the paper and its code (the default for new models).
    case query
    /// K = (M' ⊙ F_support) W_K: the toolkit's first FMAD (models from before 2026-12-04).
    case support

    /// What a config, twin config or episode plan without `fmad_keys` means: it was written before the choice
    /// existed, when the keys were always the support's.
    public static let unrecorded = FMADKeys.support
}
