import ArgumentParser
import SSMSAM

extension FMADKeys: ExpressibleByArgument {
    /// The help of every `--fmad-keys`.
    static let help = ArgumentHelp(
        "Whose features FMAM's keys mask with the support prior: query (the paper's Eq. 7 and its code, the default) or support (the toolkit's first FMAD).")
}
