// Measures the CPU cost of the sensor service: the simulated board's six chip emulators on one bus, every sensor at
// its default interval, for 60 s of simulated time (optionally accelerated: sleeps are real but shorter, so
// the work per simulated second is the same). Prints CPU time (getrusage, user + system) as % of one core.
import Foundation
import Glibc
import I2C
import Logging
import SensorEmulators
import Sensors
import Settings
import Simulation

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

var simulatedSeconds = 60.0
var speed = 1.0
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--seconds": simulatedSeconds = Double(arguments.popFirst() ?? "") ?? simulatedSeconds
    case "--speed": speed = Double(arguments.popFirst() ?? "") ?? speed
    default:
        FileHandle.standardError.write(Data("usage: SensorBench [--seconds 60] [--speed 1]\n".utf8))
        exit(2)
    }
}

let clock = ScaledClock(speed: speed)
let bus = SimulatedSensors.bus(name: SimulatedSensors.busName, clock: clock)
let devices = SimulatedSensors.devices()
let readings = SensorReadings()
var logger = Logger(label: "sensors")
logger.logLevel = .warning
let service = SensorService(settings: SensorsSettings(devices: devices), calibration: SensorCalibration.Resolved(),
                            openBus: { _ in bus }, readings: readings, clock: clock, logger: logger)

let cpuBefore = cpuSeconds()
let wallBefore = ContinuousClock.now
let task = Task { try? await service.run() }
try? await Task.sleep(for: .seconds(simulatedSeconds / speed))
task.cancel()
await task.value
let cpu = cpuSeconds() - cpuBefore
let wall = ContinuousClock.now - wallBefore

let reads = readings.statuses().map { "\($0.id)=\($0.reads)" }.joined(separator: " ")
print("simulated \(Int(simulatedSeconds)) s at default rates (speed x\(speed), wall \(String(format: "%.1f", wall.seconds)) s); transfers \(bus.transferCount); reads \(reads)")
print(String(format: "CPU %.3f s = %.3f %% of one core over %.0f simulated seconds (goal < 0.5 %%)", cpu, cpu / simulatedSeconds * 100, simulatedSeconds))
