import Foundation
import Monitoring
import ObjectLayout
import Testing

@Suite("queued documents: sidecars with their Ground Truth line, and the bucket's key layout")
struct DocumentTests {
    @Test func sidecarCarriesAGroundTruthLineForItsOwnJPEG() throws {
        let reservation = DocumentReservation(
            id: "0190f3a2-7c4e-7d1a-9b2f-3e4d5c6b7a89",
            jpegReference: "s3://duct-images/fleet/rx-7/snapshot/2026/11/27/0190f3a2-7c4e-7d1a-9b2f-3e4d5c6b7a89.jpg")
        let sidecar = SnapshotSidecar.make(
            reservation: reservation, deviceID: "rx-7", capturedAt: Date(timeIntervalSince1970: 1_795_773_600.25), camera: "upstream",
            label: "dirty", classIndex: 1, scores: ["clean": 0.12, "dirty": 0.88], qualityFlags: [], modelSHA256: String(repeating: "ab", count: 32),
            labelAttribute: "duct-condition")
        let object = try #require(try JSONSerialization.jsonObject(with: sidecar.encoded()) as? [String: Any])
        #expect(object["item_id"] as? String == reservation.id)
        #expect(object["captured_at"] as? String == "2026-11-27T10:00:00.250Z")
        #expect(object["camera"] as? String == "upstream")
        let line = try #require(object["ground_truth"] as? [String: Any])
        #expect(line["source-ref"] as? String == reservation.jpegReference)
        #expect(line["duct-condition"] as? Int == 1)
        let metadata = try #require(line["duct-condition-metadata"] as? [String: Any])
        #expect(metadata["class-name"] as? String == "dirty")
        #expect(metadata["confidence"] as? Double == 0.88)
        #expect(metadata["human-annotated"] as? String == "no")
        #expect(metadata["creation-date"] as? String == "2026-11-27T10:00:00.250000")
        #expect(metadata["type"] as? String == "groundtruth/image-classification")
        #expect(metadata["job-name"] as? String == "labeling-job/remotair-rx-7")
        #expect(try JSONDecoder().decode(SnapshotSidecar.self, from: sidecar.encoded()) == sidecar)
        #expect(String(decoding: try sidecar.encoded(), as: UTF8.self).contains("s3://duct-images/fleet/"), "slashes are not escaped")
    }

    @Test func labelAttributeIsConfigurable() throws {
        let sidecar = SnapshotSidecar.make(
            reservation: DocumentReservation(id: "x", jpegReference: "s3://b/k.jpg"), deviceID: "d", capturedAt: Date(), camera: "c",
            label: "clean", classIndex: 0, scores: ["clean": 0.6], qualityFlags: ["dark"], modelSHA256: "00", labelAttribute: "condition")
        let line = try #require(try JSONSerialization.jsonObject(with: sidecar.encoded()) as? [String: Any])["ground_truth"] as? [String: Any]
        #expect(line?["condition"] as? Int == 0)
        #expect(line?["condition-metadata"] != nil)
    }

    @Test func objectKeysFollowTheLayout() {
        let id = "0190f3a2-7c4e-7d1a-9b2f-3e4d5c6b7a89"
        let date = Date(timeIntervalSince1970: 1_795_780_800) // 2026-11-27T12:00:00Z
        #expect(ObjectKey.make(prefix: "remotair", deviceID: "rx-1", kind: "snapshot", createdAt: date, id: id, fileExtension: "jpg")
            == "remotair/rx-1/snapshot/2026/11/27/0190f3a2-7c4e-7d1a-9b2f-3e4d5c6b7a89.jpg")
        #expect(ObjectKey.make(prefix: "", deviceID: "rx-1", kind: "alarm", createdAt: date, id: id, fileExtension: "json")
            == "rx-1/alarm/2026/11/27/0190f3a2-7c4e-7d1a-9b2f-3e4d5c6b7a89.json")
    }
}
