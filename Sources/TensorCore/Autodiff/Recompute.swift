/// Activation checkpointing (`torch.utils.checkpoint`).
extension Variable {
    /// `body(inputs)` as one node that keeps only its inputs and output: the forward runs without
    /// recording, and the backward runs `body` again with recording on and back-propagates through that
    /// fresh graph. Memory is that of one `body` graph at a time instead of every one along the model.
    ///
    /// `parameters`: the leaves `body` uses besides `inputs` (a layer's weights). Those that require a
    /// gradient make the node record, and receive their gradients during its backward. `body` must be
    /// deterministic (it runs twice).
    public static func recomputed(_ inputs: [Variable], parameters: [Variable] = [],
                                  _ body: @escaping ([Variable]) -> Variable) -> Variable {
        let trainable = parameters.filter(\.requiresGrad)
        guard isRecording && (inputs.contains { $0.requiresGrad } || !trainable.isEmpty) else { return body(inputs) }
        let output = noGrad { body(inputs) }.value
        return Variable(output, inputs: inputs + trainable) { g in
            let fresh = inputs.map { Variable($0.value, requiresGrad: $0.requiresGrad) }
            let y = $isRecording.withValue(true) { body(fresh) }
            if y.requiresGrad { y.backward(g) }  // parameters accumulate their gradients here
            return fresh.map(\.grad) + trainable.map { _ in nil }
        }
    }
}
