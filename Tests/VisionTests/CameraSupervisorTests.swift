import GPIO
import Settings
import Simulation
import Testing
import V4L2
import V4L2Testing
@testable import Vision

@Suite("Camera supervisor: faults, recovery, illumination")
struct CameraSupervisorTests {
    static let light = GPIOLineID.offset(5)

    struct Rig {
        let fake: FakeVideoDevice
        let chip: InMemoryGPIOChip
        let clock: ManualClock
        let supervisor: CameraSupervisor
        let events: AsyncStream<CameraEvent>
        let continuation: AsyncStream<CameraEvent>.Continuation
        /// The LED state seen each time the driver produced a frame.
        let ledAtFrame: Recorder<Bool>
    }

    static func rig(settle: Duration = .milliseconds(1), offlineAfter: Duration = .seconds(60), timeout: Duration = .seconds(5)) throws -> Rig {
        let chip = InMemoryGPIOChip(lineCount: 8)
        let ledAtFrame = Recorder<Bool>()
        let fake = FakeVideoDevice { _, _ in
            ledAtFrame.append(chip.value(of: Self.light) ?? false)
            return CameraFixtures.mjpegFrame
        }
        var settings = V4L2CameraTests.settings()
        settings.offlineAlarmAfter = offlineAfter
        settings.timeout = timeout
        let camera = try V4L2Camera(settings: settings, device: { _ in fake })
        let clock = ManualClock()
        let (events, continuation) = AsyncStream<CameraEvent>.makeStream()
        let line = try chip.requestOutput(Self.light, consumer: "test", initialValue: false, activeLow: false)
        let supervisor = CameraSupervisor(camera: camera, settings: settings, backoffMax: .seconds(8), illumination: line,
                                          settle: settle, events: continuation, now: clock.function)
        return Rig(fake: fake, chip: chip, clock: clock, supervisor: supervisor, events: events, continuation: continuation, ledAtFrame: ledAtFrame)
    }

    static func collect(_ rig: Rig) async -> [CameraEvent] {
        rig.continuation.finish()
        var events: [CameraEvent] = []
        for await event in rig.events { events.append(event) }
        return events
    }

    @Test func illuminationIsOnForTheWholeStreamAndOffAfter() async throws {
        let rig = try Self.rig()
        let result = await rig.supervisor.capture()
        let snapshot = try result.get()
        #expect(snapshot.jpeg == CameraFixtures.mjpegFrame && snapshot.quality.flags.isEmpty)
        #expect(rig.chip.history(of: Self.light).map(\.value) == [false, true, false])
        #expect(!rig.ledAtFrame.all.isEmpty && rig.ledAtFrame.all.allSatisfy { $0 })
        #expect(await rig.supervisor.state == .ok)
        #expect(await rig.supervisor.counters.captures == 1)
    }

    @Test func illuminationGoesOffWhenTheCaptureFails() async throws {
        let rig = try Self.rig(timeout: .milliseconds(150))
        rig.fake.setStalled(true)
        let result = await rig.supervisor.capture()
        #expect(result.error?.kind == .timeout)
        #expect(rig.chip.value(of: Self.light) == false)
        #expect(rig.chip.history(of: Self.light).map(\.value) == [false, true, false])
        #expect(!rig.fake.isStreaming)
        // A timeout closes the device for a clean reopen.
        #expect(!rig.fake.isOpen)
        #expect(await rig.supervisor.counters.timeouts == 1)
        #expect(await rig.supervisor.state == .offline)
    }

    @Test func illuminationGoesOffWhenCancelledWhileSettling() async throws {
        let rig = try Self.rig(settle: .seconds(30))
        let task = Task { await rig.supervisor.capture() }
        // Wait until the light is on, then cancel (shutdown mid-capture).
        for _ in 0..<500 where rig.chip.value(of: Self.light) != true { try await Task.sleep(for: .milliseconds(2)) }
        #expect(rig.chip.value(of: Self.light) == true)
        task.cancel()
        let result = await task.value
        #expect(result.error?.kind == .cancelled)
        #expect(rig.chip.value(of: Self.light) == false)
        #expect(!rig.fake.isStreaming)
    }

    @Test func illuminationGoesOffWhenTheCameraIsUnplugged() async throws {
        let rig = try Self.rig()
        _ = await rig.supervisor.capture()
        rig.fake.unplug(afterFrames: 1)
        let result = await rig.supervisor.capture()
        #expect(result.error?.kind == .deviceGone)
        #expect(rig.chip.value(of: Self.light) == false)
        #expect(rig.chip.history(of: Self.light).map(\.value) == [false, true, false, true, false])
    }

    @Test func shutdownSwitchesTheLightOffAndClosesTheCamera() async throws {
        let rig = try Self.rig()
        _ = await rig.supervisor.capture()
        await rig.supervisor.shutdown()
        #expect(rig.chip.value(of: Self.light) == false)
        #expect(!rig.fake.isOpen && rig.fake.mappedBufferCount == 0)
    }

    @Test func unplugOfflineAlarmReplugRecovery() async throws {
        let rig = try Self.rig(offlineAfter: .seconds(60))
        #expect(try await rig.supervisor.capture().get().jpeg.isEmpty == false)
        rig.fake.unplug()
        // Released between captures: the next capture finds the node gone when it opens it.
        #expect(await rig.supervisor.capture().error?.kind == .absent)
        #expect(await rig.supervisor.state == .offline)
        #expect(!rig.fake.isOpen)

        // Within the backoff: no reopen attempt, and a capture request fails fast, named.
        let opensBefore = rig.fake.callLog.filter { $0 == "open" }.count
        await rig.supervisor.maintain()
        #expect(rig.fake.callLog.filter { $0 == "open" }.count == opensBefore)
        #expect(await rig.supervisor.capture().error?.kind == .offline)

        // Backoff 1 s, 2 s, 4 s, 8 s (cap): each attempt fails while the node is missing.
        for step in [1, 2, 4, 8, 8] {
            rig.clock.advance(.seconds(step))
            await rig.supervisor.maintain()
        }
        #expect(rig.fake.callLog.filter { $0 == "open" }.count == opensBefore + 5)
        #expect(await rig.supervisor.state == .offline)
        // 23 s unavailable: no alarm yet. At 60 s: camera_offline, once.
        rig.clock.advance(.seconds(40))
        await rig.supervisor.maintain()
        rig.clock.advance(.seconds(8))
        await rig.supervisor.maintain()

        rig.fake.replug()
        rig.clock.advance(.seconds(8))
        await rig.supervisor.maintain()
        #expect(await rig.supervisor.state == .ok)
        // Probed (open, QUERYCAP, format) and released again until the next capture.
        #expect(!rig.fake.isOpen)
        #expect(try await rig.supervisor.capture().get().camera == "upstream")
        let counters = await rig.supervisor.counters
        #expect(counters.reopens == 1 && counters.captures == 2)

        let events = await Self.collect(rig)
        #expect(events.map(\.name) == ["camera_offline", "camera_recovered"])
        if case .recovered(_, let downtime)? = events.last { #expect(downtime == .seconds(79)) }
    }

    @Test func cameraIsReleasedBetweenCapturesAndUnplugNoticedWhileIdle() async throws {
        let rig = try Self.rig()
        _ = try await rig.supervisor.capture().get()
        #expect(!rig.fake.isOpen && rig.fake.mappedBufferCount == 0 && rig.fake.allocatedBufferCount == 0)
        await rig.supervisor.maintain()
        #expect(await rig.supervisor.state == .ok)
        rig.fake.unplug()
        await rig.supervisor.maintain()
        #expect(await rig.supervisor.state == .offline)
        #expect(await rig.supervisor.status().lastError?.contains("disappeared") == true)
        rig.fake.replug()
        rig.clock.advance(.seconds(1))
        await rig.supervisor.maintain()
        #expect(await rig.supervisor.state == .ok)
        #expect(try await rig.supervisor.capture().get().width == 640)
    }

    @Test func ioErrorThenRecoveryWithoutAlarm() async throws {
        let rig = try Self.rig()
        _ = await rig.supervisor.capture()
        rig.fake.injectDequeueError(5)  // EIO
        #expect(await rig.supervisor.capture().error?.kind == .io)
        #expect(await rig.supervisor.state == .offline)
        rig.clock.advance(.seconds(1))
        // The next capture reopens the device itself.
        #expect(try await rig.supervisor.capture().get().width == 640)
        #expect(await rig.supervisor.state == .ok)
        #expect(await rig.supervisor.counters.reopens == 1)
        #expect(await Self.collect(rig).isEmpty)
    }

    @Test func absentCameraRaisesTheAlarmWithoutEverOpening() async throws {
        let rig = try Self.rig(offlineAfter: .seconds(30))
        rig.fake.unplug()
        await rig.supervisor.maintain()
        #expect(await rig.supervisor.state == .absent)
        rig.clock.advance(.seconds(31))
        await rig.supervisor.maintain()
        let status = await rig.supervisor.status()
        #expect(status.state == .absent && status.lastError?.contains("absent") == true)
        #expect(await Self.collect(rig).map(\.name) == ["camera_offline"])
    }

    @Test func corruptFramesDegradeButKeepTheCamera() async throws {
        let rig = try Self.rig()
        rig.fake.injectBufferErrors(2)
        _ = try await rig.supervisor.capture().get()
        #expect(await rig.supervisor.state == .degraded)
        #expect(await rig.supervisor.counters.corruptFrames == 2)
        _ = try await rig.supervisor.capture().get()
        #expect(await rig.supervisor.state == .ok)
    }
}

extension Result {
    var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
