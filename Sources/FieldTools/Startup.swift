import Daemon
import Sensors
import Settings
import Simulation

/// The board configuration asks for, with an unknown scenario name as a failure naming the setting and
/// listing the known scenarios.
func makeBoard(_ configuration: DaemonConfiguration, simulatedSensorClock: (any SensorClock)? = nil) throws(ToolFailure) -> Board {
    do {
        return try Board.configured(configuration, simulatedSensorClock: simulatedSensorClock)
    } catch {
        throw scenarioFailure(configuration, error)
    }
}

func scenarioFailure(_ configuration: DaemonConfiguration, _ error: ScenarioError) -> ToolFailure {
    ToolFailure("\(configuration.file): simulation.scenario: \(error)")
}

/// What `remotaird run` starts with: configuration with its overrides and the board, after the checks
/// that must stop start-up (an unknown scenario, a scenario on hardware).
public func prepareRun(_ options: ConfigurationOptions, scenario: String?) throws(ToolFailure) -> (DaemonConfiguration, Board) {
    var configuration = try options.load()
    if let scenario { configuration.simulation.scenario = scenario }
    do {
        _ = try Scenario.configured(in: configuration)
    } catch {
        throw scenarioFailure(configuration, error)
    }
    if configuration.simulation.scenario != nil, configuration.board != .simulated {
        throw ToolFailure("a scenario plays only on the simulated board (--simulate or board: simulated)")
    }
    let board = try makeBoard(configuration)
    return (configuration, board)
}
