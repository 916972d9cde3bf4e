import Control
import ControlProtocol
import Foundation
import ModelUpdates
import Settings
import Timestamps

extension DaemonControlBackend: ModelControlBackend {
    public func model() async throws(ControlError) -> ModelResult {
        guard let models = parts?.models, let updater = models.updater else {
            return ModelResult(enabled: configuration.models != nil, channel: configuration.models?.channel, startupFallback: parts?.models.startupFallback)
        }
        return Self.result(await updater.status)
    }

    public func modelRollback() async throws(ControlError) -> ModelResult {
        guard let updater = parts?.models.updater else { throw ControlError(.notAllowed, "model updates are off (no models: section)") }
        do {
            _ = try await updater.rollback()
        } catch {
            throw ControlError(.notAllowed, "rollback refused: \(error)")
        }
        return Self.result(await updater.status)
    }

    static func result(_ status: ModelUpdateStatus) -> ModelResult {
        func time(_ date: Date) -> String { UTCTime(date).extended() }
        func model(_ record: ModelStore.Record?) -> ModelResult.Model? {
            record.map { .init(version: $0.version, sha256: $0.sha256, activatedAt: time($0.activatedAt), channel: $0.channel) }
        }
        return ModelResult(
            enabled: true, channel: status.channel, current: model(status.current), previous: model(status.previous),
            lastCheck: status.lastCheck.map(time), lastCheckResult: status.lastCheckResult,
            lastRefusal: status.lastRefusal.map { .init(version: $0.version, reason: $0.reason.code, detail: $0.reason.description, at: time($0.at)) },
            startupFallback: status.startupFallback)
    }
}
