import Inference
import Testing

/// How the planner lays out integer islands: channels-last throughout a quantized network, with a byte
/// transpose only where an operator without a channels-last kernel reads a quantized tensor.
@Suite struct PlanLayoutTests {
    @Test(arguments: ["mobilenet_v2_qdq_pc", "mobilenet_v2_qop", "mobilenet_v2_qdq_s8"])
    func quantizedMobileNetRunsChannelsLastWithoutTransposes(name: String) throws {
        let plan = try ExecutionPlan(model: try Fixtures.load().model(name))
        let steps = plan.stepOperators
        #expect(!steps.contains { $0.hasPrefix("ToNHWC") || $0.hasPrefix("ToNCHW") }, "\(steps)")
        // Residual additions run on the quantized values (no DequantizeLinear -> Add -> QuantizeLinear in float).
        #expect(steps.contains("QLinearAdd"), "\(steps)")
        #expect(!steps.contains("Add"), "\(steps)")
        #expect(steps.contains { $0.hasPrefix("QLinearConv depthwise") })
        #expect(steps.contains { $0.hasPrefix("QLinearConv pointwise") })
    }

    @Test func quantizedMaxPoolGetsItsInputTransposedBack() throws {
        // resnet_qop: QLinearConv (channels-last) -> MaxPool on uint8, which reads NCHW.
        let plan = try ExecutionPlan(model: try Fixtures.load().model("resnet_qop"))
        let steps = plan.stepOperators
        let transpose = try #require(steps.firstIndex { $0.hasPrefix("ToNCHW") }, "\(steps)")
        #expect(steps[transpose + 1].hasPrefix("MaxPool"), "\(steps)")
    }
}
