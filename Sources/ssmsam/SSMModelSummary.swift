import NN
import SSMSAM

/// The parameter groups of an SSM-SAM model as `ssm init` and `inspect` print them: the frozen base and
/// each head, with tensor and parameter counts.
enum SSMModelSummary {
    static func lines(_ model: SSMSAMModel) -> [String] {
        let c = model.config
        var out = ["SSM-SAM on a \(c.base.kind == .vit ? "ViT" : "TinyViT") base: adapters \(c.adapters ? "on" : "off"), "
                   + "FMAD \(c.fmad ? "on (\(c.fmadBlocks) block\(c.fmadBlocks == 1 ? "" : "s") per level)" : "off")"]
        var frozen = 0, trainable = 0
        for g in model.parameterGroups(.prefixes([SSMSAMModel.basePrefix] + SSMSAMModel.headPrefixes), trainableOnly: false) {
            let n = g.parameters.reduce(0) { $0 + $1.parameter.value.count }
            let isTrainable = g.parameters.contains { $0.parameter.requiresGrad }
            if isTrainable { trainable += n } else { frozen += n }
            out.append("  \(g.name): \(g.parameters.count) tensors, \(InspectCommand.grouped(n)) parameters, \(isTrainable ? "trainable" : "frozen")")
        }
        out.append("  total: \(InspectCommand.grouped(trainable)) trainable, \(InspectCommand.grouped(frozen)) frozen")
        return out
    }
}
