/// A scripted scene for the simulated board (`remotaird run --simulate --scenario NAME`): what the cameras
/// show and what the sensors measure, cycle by cycle. Used by the demo and by end-to-end tests.
public struct Scenario: Sendable, Equatable {
    /// One change to the simulated world, applied before the capture cycle it names (0-based).
    public struct Step: Sendable, Equatable {
        public var cycle: Int
        public var action: Action
    }

    public enum Action: Sendable, Equatable {
        /// A camera replays frames of this scene folder (`clean`, `dirty`, `dark`, `blurred`, `blocked`).
        case scene(camera: String?, scene: String)
        /// The camera's device disappears (USB unplugged) or comes back.
        case unplug(camera: String)
        case replug(camera: String)
        /// A sensor metric is driven to a value (the emulator's physical state).
        case metric(String, Double)
        /// A sensor stops answering, or answers again.
        case sensorGone(String)
        case sensorBack(String)
    }

    public var name: String
    public var summary: String
    public var steps: [Step]

    /// Steps to apply before `cycle`.
    public func steps(before cycle: Int) -> [Action] {
        steps.filter { $0.cycle == cycle }.map(\.action)
    }

    /// Number of cycles the scenario needs to play out.
    public var length: Int { (steps.map(\.cycle).max() ?? 0) + 4 }
}

extension Scenario {
    public static let catalogue: [Scenario] = [
        Scenario(name: "clean-duct", summary: "Both cameras see a clean duct; air quality is good. Nothing should be raised.",
                 steps: [.init(cycle: 0, action: .scene(camera: nil, scene: "clean"))]),
        Scenario(name: "getting-dirty", summary: "The duct gets dirty over a few captures, an alarm is raised, then the duct is cleaned and the alarm clears.",
                 steps: [
                    .init(cycle: 0, action: .scene(camera: nil, scene: "clean")),
                    .init(cycle: 3, action: .scene(camera: nil, scene: "dirty")),
                    .init(cycle: 9, action: .scene(camera: nil, scene: "clean")),
                 ]),
        Scenario(name: "pm-spike", summary: "PM2.5 rises well above its alarm level for a while, then falls back.",
                 steps: [
                    .init(cycle: 0, action: .scene(camera: nil, scene: "clean")),
                    .init(cycle: 2, action: .metric("pm2_5", 80)),
                    .init(cycle: 8, action: .metric("pm2_5", 8)),
                 ]),
        Scenario(name: "camera-unplug", summary: "The upstream camera is unplugged for several captures and plugged back in.",
                 steps: [
                    .init(cycle: 0, action: .scene(camera: nil, scene: "clean")),
                    .init(cycle: 2, action: .unplug(camera: "upstream")),
                    .init(cycle: 8, action: .replug(camera: "upstream")),
                 ]),
        Scenario(name: "sensor-failure", summary: "The particulate sensor stops answering and comes back later.",
                 steps: [
                    .init(cycle: 0, action: .scene(camera: nil, scene: "clean")),
                    .init(cycle: 2, action: .sensorGone("sps30")),
                    .init(cycle: 8, action: .sensorBack("sps30")),
                 ]),
        Scenario(name: "blocked-lens", summary: "Something covers the downstream lens: a lens alarm, not a dirty duct.",
                 steps: [
                    .init(cycle: 0, action: .scene(camera: nil, scene: "clean")),
                    .init(cycle: 2, action: .scene(camera: "downstream", scene: "blocked")),
                    .init(cycle: 7, action: .scene(camera: "downstream", scene: "clean")),
                 ]),
    ]

    /// Looks a scenario up by name; the error lists the ones that exist.
    public static func named(_ name: String) throws(ScenarioError) -> Scenario {
        guard let scenario = catalogue.first(where: { $0.name == name }) else {
            throw ScenarioError(name: name, known: catalogue.map(\.name))
        }
        return scenario
    }
}

/// A scenario name that does not exist.
public struct ScenarioError: Error, Equatable, CustomStringConvertible {
    public var name: String
    public var known: [String]

    public var description: String {
        "no scenario named '\(name)'; known scenarios: \(known.joined(separator: ", "))"
    }
}
