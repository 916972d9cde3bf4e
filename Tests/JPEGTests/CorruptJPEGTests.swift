import Testing
import JPEG

/// A corpus of broken JPEGs of the kinds cameras and marginal USB links produce.
/// Every broken input must come back as a named JPEGError, never as a grey-filled "image".
@Suite("Corrupt JPEG corpus")
struct CorruptJPEGTests {
    let original: [UInt8]
    let reference: RGBImage

    init() throws {
        let encoder = try JPEGEncoder()
        original = try encoder.encode(TestImages.scene(width: 160, height: 120), quality: 85)
        reference = try JPEGDecoder().decode(original)
    }

    @Test func emptyAndTinyInputsAreNotJPEG() throws {
        let decoder = try JPEGDecoder()
        for input: [UInt8] in [[], [0xFF], [0xD8, 0xFF], [0x89, 0x50, 0x4E, 0x47]] {
            let error = #expect(throws: JPEGError.self) { try decoder.decode(input) }
            #expect(error?.kind == .notJPEG)
            #expect(throws: JPEGError.self) { try decoder.header(input) }
        }
    }

    @Test func truncationAtAnyOffsetIsAnError() throws {
        let decoder = try JPEGDecoder()
        var cuts = Array(stride(from: 2, to: original.count - 2, by: 23))
        cuts += [original.count - 3, TestImages.entropyStart(original), TestImages.entropyStart(original) + 1]
        var corruptCount = 0
        for cut in cuts {
            let truncated = Array(original.prefix(cut))
            let error = #expect(throws: JPEGError.self, "truncated at \(cut) of \(original.count)") {
                try decoder.decode(truncated)
            }
            if case .corrupt? = error?.kind { corruptCount += 1 }
        }
        // Cuts inside the entropy data are libjpeg's "Premature end of JPEG file" warning.
        #expect(corruptCount > cuts.count / 2)
        // The decoder is still usable after all those failures.
        #expect(try decoder.decode(original) == reference)
    }

    @Test func prematureEndNamesLibjpegsWarning() throws {
        let decoder = try JPEGDecoder()
        let error = #expect(throws: JPEGError.self) { try decoder.decode(Array(original.prefix(original.count / 2))) }
        guard case .corrupt(let text)? = error?.kind else {
            Issue.record("expected a corrupt-data warning, got \(String(describing: error))")
            return
        }
        #expect(text.contains("Premature end of JPEG file"))
    }

    @Test func missingEOIIsAnError() throws {
        let decoder = try JPEGDecoder()
        #expect(Array(original.suffix(2)) == [0xFF, 0xD9])
        let withoutEOI = Array(original.dropLast(2))
        let error = #expect(throws: JPEGError.self) { try decoder.decode(withoutEOI) }
        #expect(error?.name == "corrupt")
    }

    @Test func paddingAfterEOIIsAccepted() throws {
        // Some UVC cameras pad the buffer after EOI (zeros, or 0xFF fill).
        let decoder = try JPEGDecoder()
        for fill: UInt8 in [0x00, 0xFF] {
            let padded = original + [UInt8](repeating: fill, count: 700)
            #expect(try decoder.decode(padded) == reference)
        }
    }

    @Test func bitFlipsNeverCrashAndMarkerDamageIsCaught() throws {
        let decoder = try JPEGDecoder()
        var generator = TestImages.SplitMix(state: 0x5EED)
        var detected = 0
        let trials = 300
        for _ in 0..<trials {
            var damaged = original
            let offset = Int.random(in: 2..<(damaged.count - 2), using: &generator)
            damaged[offset] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
            do {
                let image = try decoder.decode(damaged)
                // A flip that libjpeg cannot notice (a coefficient bit, a quantisation value) still
                // yields an image of the size the header promises... unless the flip hit the size.
                #expect(image.pixels.count == image.width * image.height * 3)
            } catch {
                detected += 1
            }
        }
        #expect(detected > 0)
        // Damaging the SOS marker itself is always caught.
        var noScan = original
        let sos = TestImages.entropyStart(original)
        // Walk back to the SOS marker: its length field precedes the entropy data.
        var marker = 2
        while marker < sos, !(noScan[marker] == 0xFF && noScan[marker + 1] == 0xDA) { marker += 1 }
        noScan[marker + 1] = 0x01
        #expect(throws: JPEGError.self) { try decoder.decode(noScan) }
    }

    @Test func entropyDamageIsReportedAsCorrupt() throws {
        // Overwrite a run of entropy data with 0xFF 0xD0 (a restart marker where none is expected)
        // and garbage: libjpeg warns "Corrupt JPEG data".
        let decoder = try JPEGDecoder()
        var damaged = original
        let start = TestImages.entropyStart(original) + 200
        for index in start..<(start + 64) { damaged[index] = index % 2 == 0 ? 0xFF : 0xD3 }
        let error = #expect(throws: JPEGError.self) { try decoder.decode(damaged) }
        #expect(error?.name == "corrupt")
    }

    @Test func frameWithoutHuffmanTablesDecodes() throws {
        // Many UVC cameras send MJPEG frames without DHT segments; libjpeg-turbo then uses the
        // standard tables from the JPEG spec, which libturbojpeg's encoder also uses by default.
        let decoder = try JPEGDecoder()
        let stripped = TestImages.removingSegments(marker: 0xC4, from: original)
        #expect(stripped.count < original.count)
        #expect(!TestImages.contains(stripped, marker: 0xC4))
        #expect(try decoder.decode(stripped) == reference)
    }
}

@Suite("Decoder handle reuse after failures")
struct DecoderRecoveryTests {
    @Test func headerFailureDoesNotPoisonTheNextFrame() throws {
        // libturbojpeg 2.1.5 leaves the handle mid-header after a failed tjDecompressHeader3;
        // without our reset, the next valid frame fails too.
        let original = try JPEGEncoder().encode(TestImages.scene(width: 160, height: 120), quality: 85)
        let decoder = try JPEGDecoder()
        let cut = TestImages.entropyStart(original) - 20  // inside the header segments
        #expect(throws: JPEGError.self) { try decoder.decode(Array(original.prefix(cut))) }
        let image = try decoder.decode(original)
        #expect(image.width == 160 && image.height == 120)
    }
}
