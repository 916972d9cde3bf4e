import Foundation
import Outbox
import Settings
import Testing

@Suite struct SnapshotSidecarTests {
    @Test func carriesAGroundTruthLineForItsOwnJPEG() throws {
        let id = try #require(ItemID("0190f3a2-7c4e-7d1a-9b2f-3e4d5c6b7a89"))
        var uplink = UplinkSettings()
        uplink.bucket = "duct-images"
        uplink.prefix = "fleet"
        let sidecar = SnapshotSidecar.make(
            id: id, kind: .snapshot, deviceID: "rx-7", capturedAt: Date(timeIntervalSince1970: 1_795_773_600.25), camera: "upstream",
            label: "dirty", classIndex: 1, scores: ["clean": 0.12, "dirty": 0.88], qualityFlags: [], modelSHA256: String(repeating: "ab", count: 32),
            uplink: uplink)
        let object = try #require(try JSONSerialization.jsonObject(with: sidecar.encoded()) as? [String: Any])
        #expect(object["captured_at"] as? String == "2026-11-27T10:00:00.250Z")
        #expect(object["camera"] as? String == "upstream")
        let line = try #require(object["ground_truth"] as? [String: Any])
        #expect(line["source-ref"] as? String == "s3://duct-images/fleet/rx-7/snapshot/2026/11/27/0190f3a2-7c4e-7d1a-9b2f-3e4d5c6b7a89.jpg")
        #expect(line["duct-condition"] as? Int == 1)
        let metadata = try #require(line["duct-condition-metadata"] as? [String: Any])
        #expect(metadata["class-name"] as? String == "dirty")
        #expect(metadata["confidence"] as? Double == 0.88)
        #expect(metadata["human-annotated"] as? String == "no")
        #expect(metadata["creation-date"] as? String == "2026-11-27T10:00:00.250000")
        #expect(metadata["type"] as? String == "groundtruth/image-classification")
        #expect(metadata["job-name"] as? String == "labeling-job/remotair-rx-7")
        #expect(try JSONDecoder().decode(SnapshotSidecar.self, from: sidecar.encoded()) == sidecar)
    }

    @Test func labelAttributeIsConfigurable() throws {
        var uplink = UplinkSettings()
        uplink.labelAttribute = "condition"
        let sidecar = SnapshotSidecar.make(
            id: ItemID.make(), kind: .sample, deviceID: "d", capturedAt: Date(), camera: "c", label: "clean", classIndex: 0,
            scores: ["clean": 0.6], qualityFlags: ["dark"], modelSHA256: "00", uplink: uplink)
        let line = try #require(try JSONSerialization.jsonObject(with: sidecar.encoded()) as? [String: Any])["ground_truth"] as? [String: Any]
        #expect(line?["condition"] as? Int == 0)
        #expect(line?["condition-metadata"] != nil)
    }
}
