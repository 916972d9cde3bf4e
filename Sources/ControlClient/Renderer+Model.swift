import ControlProtocol

extension Renderer {
    /// `remotairctl model`: the current and previous model, the channel, the last check and the last refusal.
    public func model(_ result: ModelResult) -> String {
        guard result.enabled else { return "model updates are off (no models: section); the model is the calibration directory's\n" }
        func line(_ title: String, _ model: ModelResult.Model?) -> String {
            guard let model else { return "\(title): none\n" }
            return "\(title): \(model.version)  sha256 \(model.sha256)  activated \(model.activatedAt)  (\(model.channel))\n"
        }
        var text = "channel: \(result.channel ?? "?")\n" + line("current", result.current) + line("previous", result.previous)
        text += "last check: \(result.lastCheck.map { "\($0)  \(result.lastCheckResult ?? "")" } ?? "not yet")\n"
        if let refusal = result.lastRefusal {
            text += "last refusal: \(refusal.version) at \(refusal.at): \(refusal.reason): \(refusal.detail)\n"
        } else {
            text += "last refusal: none\n"
        }
        if let fallback = result.startupFallback { text += "start-up fallback: \(fallback)\n" }
        return text
    }
}
