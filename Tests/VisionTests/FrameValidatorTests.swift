import JPEG
import Testing
import V4L2
@testable import Vision

@Suite("Frame validation")
struct FrameValidatorTests {
    let original: [UInt8]

    init() throws {
        original = try Scenes.jpeg(Scenes.textured(width: 160, height: 120))
    }

    @Test func validFrameAndPaddingAfterEOI() throws {
        let validator = try FrameValidator()
        guard case .success(let frame) = validator.validateJPEG(original) else {
            Issue.record("a valid JPEG was rejected")
            return
        }
        #expect(frame.jpeg == original && frame.width == 160 && frame.height == 120)
        #expect(frame.preview.width >= 20)
        // Cameras pad after EOI: accepted, and the padding is not stored.
        guard case .success(let padded) = validator.validateJPEG(original + [UInt8](repeating: 0, count: 900)) else {
            Issue.record("padding after EOI was rejected")
            return
        }
        #expect(padded.jpeg == original)
    }

    @Test func zeroLengthAndFragmentsAreTooSmall() throws {
        let validator = try FrameValidator()
        #expect(validator.validateJPEG([]).problem == .tooSmall(0))
        #expect(validator.validateJPEG(Array(original.prefix(100))).problem == .tooSmall(100))
    }

    @Test func missingSOIOrEOI() throws {
        let validator = try FrameValidator()
        #expect(validator.validateJPEG([0x00] + original).problem == .noStartOfImage)
        #expect(validator.validateJPEG(Array(original.dropLast(2))).problem == .noEndOfImage)
        // EOI further from the end than the search window: treated as missing.
        #expect(validator.validateJPEG(original + [UInt8](repeating: 0, count: 2000)).problem == .noEndOfImage)
    }

    @Test func truncationAtEveryFewBytesIsRejected() throws {
        let validator = try FrameValidator()
        for cut in stride(from: 0, to: original.count - 2, by: 17) {
            #expect(validator.validateJPEG(Array(original.prefix(cut))).problem != nil, "cut at \(cut)")
        }
    }

    @Test func truncatedFrameWithEOIAppendedIsCaughtByTheDecoder() throws {
        // A camera that drops a USB packet mid-frame but still ends with FF D9: only the decode sees it.
        let validator = try FrameValidator()
        let damaged = Array(original.prefix(original.count * 2 / 3)) + [0xFF, 0xD9]
        guard case .undecodable(let error)? = validator.validateJPEG(damaged).problem else {
            Issue.record("expected a libjpeg complaint")
            return
        }
        #expect(error.name == "corrupt" || error.name == "fatal")
    }

    @Test func bitFlipsNeverCrash() throws {
        let validator = try FrameValidator()
        var generator = Scenes.SplitMix(state: 42)
        var rejected = 0
        for _ in 0..<200 {
            var damaged = original
            let offset = Int.random(in: 0..<damaged.count, using: &generator)
            damaged[offset] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
            if validator.validateJPEG(damaged).problem != nil { rejected += 1 }
        }
        #expect(rejected > 0)
    }

    @Test func frameWithoutHuffmanTablesIsValid() throws {
        let validator = try FrameValidator()
        // Strip DHT (FF C4) segments, as many UVC cameras send MJPEG.
        var stripped: [UInt8] = [0xFF, 0xD8]
        var index = 2
        while original[index] == 0xFF && original[index + 1] != 0xDA {
            let length = Int(original[index + 2]) << 8 | Int(original[index + 3])
            if original[index + 1] != 0xC4 { stripped += original[index..<(index + 2 + length)] }
            index += 2 + length
        }
        stripped += original[index...]
        #expect(stripped.count < original.count)
        #expect(validator.validateJPEG(stripped).problem == nil)
    }

    @Test func yuyvFramesAreEncodedAndShortOnesRejected() throws {
        let validator = try FrameValidator()
        let format = PixelFormat(width: 64, height: 48, pixelFormat: .yuyv, bytesPerLine: 128, sizeImage: 128 * 48)
        let bytes = CameraFixtures.yuyvFrame(format)
        guard case .success(let frame) = validator.validate(RawFrame(bytes: bytes, format: format), jpegQuality: 80) else {
            Issue.record("YUYV frame rejected")
            return
        }
        #expect(frame.sourceFormat == "YUYV" && frame.width == 64 && frame.jpeg.starts(with: [0xFF, 0xD8, 0xFF]))
        #expect(validator.validate(RawFrame(bytes: Array(bytes.prefix(1000)), format: format), jpegQuality: 80).problem
                == .shortRawFrame(got: 1000, expected: 128 * 48))
    }
}

extension Result where Failure == FrameProblem {
    var problem: FrameProblem? {
        if case .failure(let problem) = self { return problem }
        return nil
    }
}
