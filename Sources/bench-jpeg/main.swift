// Time to get a 224x224 RGB image (the classifier's input) from a 1280x720 JPEG:
// DCT-scaled decode + area resize, against full decode + area resize. Both through our JPEG target;
// scripts/bench/bench-jpeg runs Pillow on the same file and prints the ratios.
//
// Usage: bench-jpeg FILE.jpg [ITERATIONS]   prints `dct_ms=<median> full_ms=<median> scale=<n/d>`
import Foundation
import JPEG

let arguments = CommandLine.arguments
guard arguments.count >= 2, let data = FileManager.default.contents(atPath: arguments[1]) else {
    FileHandle.standardError.write(Data("usage: bench-jpeg FILE.jpg [ITERATIONS]\n".utf8))
    exit(2)
}
let iterations = arguments.count >= 3 ? max(1, Int(arguments[2]) ?? 50) : 50
let jpeg = [UInt8](data)

func median(_ samples: [Double]) -> Double {
    let sorted = samples.sorted()
    return sorted[sorted.count / 2]
}

func measure(size: Int = 224, _ body: () throws -> RGBImage) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<3 { _ = try body() }  // warm-up: caches, allocator
    for _ in 0..<iterations {
        let start = ContinuousClock.now
        let image = try body()
        let elapsed = ContinuousClock.now - start
        precondition(size == 0 || (image.width == size && image.height == size))
        samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
    }
    return median(samples)
}

do {
    let decoder = try JPEGDecoder()
    let header = try decoder.header(jpeg)
    let scale = decoder.scalingFactor(forWidth: header.width, height: header.height, atLeastWidth: 224, atLeastHeight: 224)
    let dct = try measure {
        ImageResize.areaAverage(try decoder.decode(jpeg, atLeastWidth: 224, atLeastHeight: 224), width: 224, height: 224)
    }
    let full = try measure {
        ImageResize.areaAverage(try decoder.decode(jpeg), width: 224, height: 224)
    }
    // The stages alone, to see where the time goes.
    let dctDecode = try measure(size: 0) { try decoder.decode(jpeg, atLeastWidth: 224, atLeastHeight: 224) }
    let fullDecode = try measure(size: 0) { try decoder.decode(jpeg) }
    print("size=\(header.width)x\(header.height) scale=\(scale) dct_ms=\(String(format: "%.3f", dct)) full_ms=\(String(format: "%.3f", full))"
          + " dct_decode_ms=\(String(format: "%.3f", dctDecode)) full_decode_ms=\(String(format: "%.3f", fullDecode))")
} catch {
    FileHandle.standardError.write(Data("bench-jpeg: \(error)\n".utf8))
    exit(1)
}
