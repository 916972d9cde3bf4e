import ControlProtocol
import Foundation
import Testing

@Suite("control protocol limits and backward compatibility")
struct ControlLimitsTests {
    @Test("the CO2 reference range is the SCD4x's 400...2000 ppm")
    func co2Range() {
        #expect(CO2Calibration.referenceRange == 400...2000)
    }

    @Test("the default socket is the runtime directory's control.sock")
    func socketPath() {
        #expect(ControlSocketPath.defaultPath == ControlSocketPath.defaultRuntimeDirectory + "/" + ControlSocketPath.fileName)
    }
}

@Suite("control protocol: fields added, none renamed")
struct ControlCompatibilityTests {
    @Test("an answer from a daemon before the upload fields still decodes, with the new fields absent")
    func oldAnswersDecode() throws {
        let capture = #"{"cameras":[{"name":"upstream","label":"clean","scores":{},"quality":[],"snapshot_id":"s1","timings_ms":{}}],"upload":true,"total_ms":5}"#
        let result = try JSONDecoder().decode(CaptureResult.self, from: Data(capture.utf8))
        #expect(result.upload && result.cameras[0].snapshotQueued == nil && result.cameras[0].snapshotError == nil)
        let alarms = #"{"alarms":[{"id":"a","kind":"duct_dirty","severity":"critical","message":"m","age_s":1,"uploaded":false}]}"#
        #expect(try JSONDecoder().decode(AlarmsResult.self, from: Data(alarms.utf8)).alarms[0].upload == nil)
    }

    @Test("the new fields go out under their documented names")
    func newFieldNames() throws {
        let camera = CaptureResult.Camera(name: "upstream", label: "clean", snapshotQueued: false,
                                          snapshotError: ControlError(.belowFreeSpaceFloor, "refused"))
        let line = String(decoding: ResponseLine.success(id: 1, CaptureResult(cameras: [camera], upload: false, note: nil, totalMilliseconds: 1)), as: UTF8.self)
        #expect(line.contains(#""snapshot_queued":false"#))
        #expect(line.contains(#""snapshot_error":{"code":"below_free_space_floor","message":"refused"}"#))
        let upload = AlarmsResult.Upload(state: "uploaded", itemID: "i", attempts: 0, uploadedAt: "2026-12-07T08:00:00Z",
                                         uploadedAgeSeconds: 2, objectKey: "d/alarm/2026/12/07/i.json")
        let alarm = AlarmsResult.Alarm(id: "a", kind: "k", severity: "warning", message: "m", ageSeconds: 1, uploaded: true, upload: upload)
        let alarmLine = String(decoding: ResponseLine.success(id: 1, AlarmsResult(alarms: [alarm])), as: UTF8.self)
        #expect(alarmLine.contains(#""upload":{"attempts":0,"item_id":"i","object_key":"d/alarm/2026/12/07/i.json","state":"uploaded","uploaded_age_s":2,"uploaded_at":"2026-12-07T08:00:00Z"}"#))
        #expect(alarmLine.contains(#""uploaded":true"#))
    }
}
