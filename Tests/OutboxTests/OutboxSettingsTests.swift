import Foundation
import Settings
import Testing

@Suite struct OutboxSettingsTests {
    @Test func readsTheOutboxAndUplinkSections() throws {
        let configuration = try DaemonConfiguration.parse("""
            device_id: rx-1
            outbox:
              max_bytes: 64MB
              max_items: 1000
              free_space_floor: 10MB
              ttl: {sample: 1h}
            uplink:
              endpoint: file:../uploads
              bucket: duct-images
              prefix: fleet/a
              concurrency: 4
              bandwidth_limit: 256KB
            """, file: "/etc/remotair/remotaird.yaml")
        #expect(configuration.outbox.maxBytes == 64 << 20)
        #expect(configuration.outbox.maxItems == 1000)
        #expect(configuration.outbox.freeSpaceFloor == 10 << 20)
        #expect(configuration.outbox.ttl.sample == .seconds(3600))
        #expect(configuration.outbox.ttl.alarm == .seconds(30 * 86400))
        #expect(configuration.uplink.endpoint?.path == "/etc/uploads")
        #expect(configuration.uplink.endpoint?.isFileURL == true)
        #expect(configuration.uplink.bandwidthLimit == 256 * 1024)
        #expect(configuration.uplink.concurrency == 4)
    }

    @Test func refusesBadValuesNamingTheKey() {
        let cases = [
            "uplink: {endpoint: 'ftp://x'}": "uplink.endpoint",
            "uplink: {endpoint: 'https://s3.example/bucket'}": "uplink.endpoint",
            "uplink: {bucket: 'Bad_Bucket'}": "uplink.bucket",
            "uplink: {prefix: '/lead'}": "uplink.prefix",
            "uplink: {prefix: 'a/../b'}": "uplink.prefix",
            "uplink: {concurrency: 0}": "uplink.concurrency",
            "uplink: {addressing: dns}": "uplink.addressing",
            "outbox: {max_bytes: lots}": "outbox.max_bytes",
            "outbox: {ttl: {alarm: 1s}}": "outbox.ttl.alarm",
            "outbox: {max_byte: 1}": "outbox.max_byte",
        ]
        for (yaml, keyPath) in cases {
            do {
                _ = try DaemonConfiguration.parse("device_id: d\n" + yaml, file: "/tmp/x.yaml")
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect(error.keyPath == keyPath, "\(yaml): \(error)")
            }
        }
    }
}
