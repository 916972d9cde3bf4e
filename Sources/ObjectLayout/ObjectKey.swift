import Foundation
import Timestamps

/// Deterministic object keys: `{prefix}/{device_id}/{kind}/{yyyy}/{mm}/{dd}/{item_id}.{jpg|json}` (UTC date of
/// capture). The main job names a sidecar's own JPEG with it before queueing; the uplink PUTs under it. Its
/// own target so that the uplink shares the layout without linking the main job, and the queue knows none of it.
public enum ObjectKey {
    public static func make(prefix: String, deviceID: String, kind: String, createdAt: Date, id: String, fileExtension: String) -> String {
        let date = UTCTime(createdAt).date(separator: "/")
        let head = prefix.isEmpty ? "" : prefix + "/"
        return "\(head)\(deviceID)/\(kind)/\(date)/\(id).\(fileExtension)"
    }
}
