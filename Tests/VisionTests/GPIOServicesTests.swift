import GPIO
import Simulation
import Testing
@testable import Vision

@Suite("Status LED and push button")
struct GPIOServicesTests {
    @Test func debouncerRejectsBounces() {
        var debouncer = Debouncer(interval: .milliseconds(50))
        let accepted = [1000, 1003, 1049, 1050, 2000].map { debouncer.accept(at: .milliseconds($0)) }
        #expect(accepted == [true, false, false, true, true])
    }

    @Test func bouncingPressTriggersOneCapture() async throws {
        let chip = InMemoryGPIOChip(lineCount: 8)
        let line = try chip.requestEdgeEvents(.offset(3), consumer: "test", edge: .falling, activeLow: true, pullUp: true)
        let presses = Recorder<Int>()
        let service = ButtonService(line: line, debounce: .milliseconds(50), pollInterval: .milliseconds(2)) {
            presses.append(1)
        }
        let task = Task { try await service.run() }
        // One press with contact bounce: falling edges 0, 3 and 8 ms apart, rising edges between.
        chip.injectEdge(.falling, on: .offset(3), at: .milliseconds(100))
        chip.injectEdge(.rising, on: .offset(3), at: .milliseconds(101))
        chip.injectEdge(.falling, on: .offset(3), at: .milliseconds(103))
        chip.injectEdge(.falling, on: .offset(3), at: .milliseconds(108))
        try await waitUntil { presses.all.count >= 1 }
        try await Task.sleep(for: .milliseconds(30))
        #expect(presses.all.count == 1)
        // A second, real press later.
        chip.injectEdge(.falling, on: .offset(3), at: .milliseconds(900))
        try await waitUntil { presses.all.count >= 2 }
        task.cancel()
        _ = try? await task.value
        #expect(presses.all.count == 2)
        #expect(!chip.isRequested(.offset(3)))  // released on stop
    }

    @Test func statusPatternFollowsFaultsAndAlarms() async {
        let indicator = StatusIndicator()
        #expect(await indicator.pattern == .ok)
        await indicator.setAlarm(true)
        #expect(await indicator.pattern == .alarm)
        await indicator.setFault("camera:upstream", true)
        #expect(await indicator.pattern == .fault)
        await indicator.setFault("camera:upstream", false)
        #expect(await indicator.pattern == .alarm)
    }

    @Test func statusLEDBlinksTheFaultPatternAndEndsDark() async throws {
        let chip = InMemoryGPIOChip(lineCount: 8)
        let status = try chip.requestOutput(.offset(1), consumer: "t", initialValue: false, activeLow: false)
        let fault = try chip.requestOutput(.offset(2), consumer: "t", initialValue: false, activeLow: false)
        let indicator = StatusIndicator()
        await indicator.setFault("camera:downstream", true)
        let task = Task { try await StatusLEDService(indicator: indicator, statusLine: status, faultLine: fault).run() }
        try await waitUntil { chip.history(of: .offset(1)).count >= 4 }
        #expect(chip.value(of: .offset(2)) == true)
        task.cancel()
        _ = try? await task.value
        let values = chip.history(of: .offset(1)).map(\.value)
        // Double blink: on, off, on, ...
        #expect(Array(values.prefix(4)) == [false, true, false, true])
        #expect(chip.value(of: .offset(1)) == false && chip.value(of: .offset(2)) == false)
    }
}

func waitUntil(timeout: Duration = .seconds(5), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}
