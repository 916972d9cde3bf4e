import Foundation
import Logging
import SensorEmulators
import Settings

extension Scenario {
    /// The scenario `simulation.scenario` names, or nil when it names none; an unknown name is an error
    /// listing the known ones (start-up, `check-config` and the simulated board all ask here).
    public static func configured(in configuration: DaemonConfiguration) throws(ScenarioError) -> Scenario? {
        guard let name = configuration.simulation.scenario else { return nil }
        return try named(name)
    }
}

extension SimulatedBoard {
    /// Plays the scenario: before each capture cycle, changes what the simulated cameras show and what the
    /// emulated sensors measure. Does nothing without a scenario.
    public func beforeCaptureCycle(_ cycle: Int) async {
        guard let scenario else { return }
        // Made here, not at init: the board is built before the daemon bootstraps its log handler.
        let logger = Logger(label: "scenario")
        if cycle == 0 {
            logger.notice("playing scenario", metadata: ["scenario": .string(scenario.name), "summary": .string(scenario.summary)])
        }
        for action in scenario.steps(before: cycle) {
            logger.notice("scenario step", metadata: ["cycle": .stringConvertible(cycle), "action": .string("\(action)")])
            switch action {
            case .scene(let camera, let scene):
                let folder = (framesDirectory as NSString).appendingPathComponent(scene)
                for (name, simulated) in openedCameras where camera == nil || camera == name { await simulated.replay(folder: folder) }
            case .unplug(let camera):
                await openedCameras[camera]?.unplug()
            case .replug(let camera):
                await openedCameras[camera]?.replug()
            case .metric(let metric, let value):
                drive(metric: metric, to: value)
            case .sensorGone(let id):
                if let entry = sensorBus(id) { entry.bus.inject(.gone, at: entry.address) }
            case .sensorBack(let id):
                if let entry = sensorBus(id) { entry.bus.inject(.back, at: entry.address) }
            }
        }
    }
}
