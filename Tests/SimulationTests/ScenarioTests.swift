import Simulation
import Testing

@Suite("Scenario catalogue")
struct ScenarioTests {
    @Test("every scenario the issue names exists and starts from a defined scene")
    func catalogue() throws {
        for name in ["clean-duct", "getting-dirty", "pm-spike", "camera-unplug", "sensor-failure"] {
            let scenario = try Scenario.named(name)
            #expect(scenario.steps(before: 0).contains(.scene(camera: nil, scene: "clean")))
        }
    }

    @Test("getting-dirty turns dirty and back to clean")
    func gettingDirty() throws {
        let scenario = try Scenario.named("getting-dirty")
        #expect(scenario.steps(before: 3) == [.scene(camera: nil, scene: "dirty")])
        #expect(scenario.steps(before: 9) == [.scene(camera: nil, scene: "clean")])
        #expect(scenario.length == 13)
    }

    @Test("an unknown name is refused, listing the known ones")
    func unknown() {
        let error = #expect(throws: ScenarioError.self) { try Scenario.named("flood") }
        #expect(error?.description.hasPrefix("no scenario named 'flood'; known scenarios: clean-duct, getting-dirty") == true)
    }
}
