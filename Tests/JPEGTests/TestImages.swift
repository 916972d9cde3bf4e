import JPEG

/// Deterministic synthetic images: gradients with edges and texture, so JPEG has real work to do.
enum TestImages {
    static func scene(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let index = (y * width + x) * 3
                let stripe: Int = ((x / 16 + y / 16) % 2 == 0) ? 40 : 0
                pixels[index] = UInt8(clamping: x * 200 / max(width, 1) + stripe)
                pixels[index + 1] = UInt8(clamping: y * 200 / max(height, 1) + stripe)
                pixels[index + 2] = UInt8(clamping: 120 + (x ^ y) % 32)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func meanAbsoluteDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
        precondition(a.pixels.count == b.pixels.count)
        var total = 0
        for index in a.pixels.indices { total += abs(Int(a.pixels[index]) - Int(b.pixels[index])) }
        return Double(total) / Double(max(a.pixels.count, 1))
    }

    /// A small deterministic PRNG (SplitMix64) so corpus tests are reproducible.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Removes every segment with the given marker (e.g. 0xC4 DHT) from a JPEG's header.
    static func removingSegments(marker: UInt8, from jpeg: [UInt8]) -> [UInt8] {
        var output: [UInt8] = [0xFF, 0xD8]
        var index = 2
        while index + 4 <= jpeg.count, jpeg[index] == 0xFF {
            let code = jpeg[index + 1]
            if code == 0xDA { break }  // start of scan: the rest is entropy data
            let length = Int(jpeg[index + 2]) << 8 | Int(jpeg[index + 3])
            if code != marker { output.append(contentsOf: jpeg[index..<(index + 2 + length)]) }
            index += 2 + length
        }
        output.append(contentsOf: jpeg[index...])
        return output
    }

    /// Offset of the first byte after the SOS header (the start of entropy-coded data).
    static func entropyStart(_ jpeg: [UInt8]) -> Int {
        var index = 2
        while index + 4 <= jpeg.count, jpeg[index] == 0xFF {
            let code = jpeg[index + 1]
            let length = Int(jpeg[index + 2]) << 8 | Int(jpeg[index + 3])
            index += 2 + length
            if code == 0xDA { return index }
        }
        return index
    }

    static func contains(_ jpeg: [UInt8], marker: UInt8) -> Bool {
        var index = 2
        while index + 4 <= jpeg.count, jpeg[index] == 0xFF {
            let code = jpeg[index + 1]
            if code == marker { return true }
            if code == 0xDA { return false }
            index += 2 + (Int(jpeg[index + 2]) << 8 | Int(jpeg[index + 3]))
        }
        return false
    }
}
