import Foundation
import Sensors
import Testing

@Suite struct GasIndexAlgorithmTests {
    /// Sensirion's published VOC vectors (gas-index-algorithm python-wrapper/tests/data/voc.csv): `sraw,expected`.
    static func vectors() throws -> [(Int32, Int)] {
        let url = try #require(Bundle.module.url(forResource: "voc", withExtension: "csv", subdirectory: "Resources"))
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: ",")
            guard fields.count == 2, let sraw = Int32(fields[0]), let index = Int(fields[1]) else { return nil }
            return (sraw, index)
        }
    }

    @Test func matchesVendorVOCVectors() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count == 600)
        var algorithm = GasIndexAlgorithm(kind: .voc)
        var worst = 0
        for (row, (sraw, expected)) in vectors.enumerated() {
            let index = algorithm.process(sraw)
            worst = max(worst, abs(index - expected))
            #expect(abs(index - expected) <= 1, "row \(row + 1): sraw \(sraw) gave \(index), vendor \(expected)")
        }
        // Rows 1-46 are the blackout, row 47 is the first index.
        #expect(worst <= 1)
    }

    @Test func constantInputSettles() {
        var voc = GasIndexAlgorithm(kind: .voc)
        var nox = GasIndexAlgorithm(kind: .nox)
        var vocIndex = 0, noxIndex = 0
        for _ in 0...200 {
            vocIndex = voc.process(1337)
            noxIndex = nox.process(1337)
        }
        #expect(vocIndex == 100)
        #expect(noxIndex == 1)
    }

    @Test func blackoutAndInvalidSamples() {
        var voc = GasIndexAlgorithm(kind: .voc)
        var reference = GasIndexAlgorithm(kind: .voc)
        for _ in 0..<46 {
            #expect(voc.process(27_000) == 0)
            _ = reference.process(27_000)
        }
        #expect((1...500).contains(voc.process(27_000)))
        _ = reference.process(27_000)
        // Out-of-range samples (<= 0, >= 65000) count as a repeat of the previous sample.
        for invalid: Int32 in [0, -5, 65_000, 27_000] {
            #expect(voc.process(invalid) == reference.process(27_000))
        }
    }

    @Test func restoredStateSkipsLearning() {
        var learned = GasIndexAlgorithm(kind: .voc)
        for second in 0..<(4 * 3600) { _ = learned.process(Int32(27_000 + (second % 7) * 10)) }
        #expect(learned.stateIsMature)
        let saved = learned.state
        var restored = GasIndexAlgorithm(kind: .voc)
        restored.restore(mean: saved.mean, std: saved.std)
        #expect(restored.stateIsMature)
        var fresh = GasIndexAlgorithm(kind: .voc)
        var restoredIndex = 0, freshIndex = 0
        // A VOC event after the blackout: the restored algorithm knows the baseline and reacts like the learned one.
        for _ in 0..<47 { _ = restored.process(27_030); _ = fresh.process(27_030) }
        for _ in 0..<60 { restoredIndex = restored.process(26_000); freshIndex = fresh.process(26_000) }
        var reference = learned
        var referenceIndex = 0
        for _ in 0..<47 { _ = reference.process(27_030) }
        for _ in 0..<60 { referenceIndex = reference.process(26_000) }
        #expect(abs(restoredIndex - referenceIndex) <= 10)
        #expect(restoredIndex > freshIndex)
    }
}
