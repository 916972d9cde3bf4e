import GPIO
import JPEG
import Synchronization
import V4L2
@testable import Vision

/// Generated scenes: a textured duct-like image, and the same made dark, blurred or blocked.
enum Scenes {
    static func textured(width: Int = 160, height: Int = 120, seed: UInt64 = 7) -> RGBImage {
        var generator = SplitMix(state: seed)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let seam = (x % 40 == 0 || y % 30 == 0) ? -50 : 0
                let base = 90 + x * 60 / width + y * 40 / height + seam
                let noise = Int(generator.next() % 41) - 20
                let value = UInt8(clamping: base + noise)
                let index = (y * width + x) * 3
                pixels[index] = value
                pixels[index + 1] = UInt8(clamping: Int(value) + 5)
                pixels[index + 2] = UInt8(clamping: Int(value) - 5)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func dark(_ image: RGBImage) -> RGBImage {
        RGBImage(width: image.width, height: image.height, pixels: image.pixels.map { UInt8(Int($0) * 15 / 100) })
    }

    /// Three passes of a 5x5 box blur: an out-of-focus or fogged lens.
    static func blurred(_ image: RGBImage) -> RGBImage {
        var current = image
        for _ in 0..<3 { current = boxBlur(current, radius: 2) }
        return current
    }

    static func boxBlur(_ image: RGBImage, radius: Int) -> RGBImage {
        var output = image.pixels
        for y in 0..<image.height {
            for x in 0..<image.width {
                for channel in 0..<3 {
                    var sum = 0, count = 0
                    for dy in -radius...radius {
                        for dx in -radius...radius {
                            let sx = min(max(x + dx, 0), image.width - 1), sy = min(max(y + dy, 0), image.height - 1)
                            sum += Int(image.pixels[(sy * image.width + sx) * 3 + channel])
                            count += 1
                        }
                    }
                    output[(y * image.width + x) * 3 + channel] = UInt8(sum / count)
                }
            }
        }
        return RGBImage(width: image.width, height: image.height, pixels: output)
    }

    /// A flat grey object covering all but the right fifth of the frame.
    static func blocked(_ image: RGBImage) -> RGBImage {
        var pixels = image.pixels
        for y in 0..<image.height {
            for x in 0..<(image.width * 4 / 5) {
                let index = (y * image.width + x) * 3
                pixels[index] = 130
                pixels[index + 1] = 128
                pixels[index + 2] = 125
            }
        }
        return RGBImage(width: image.width, height: image.height, pixels: pixels)
    }

    static func jpeg(_ image: RGBImage, quality: Int = 90) throws -> [UInt8] {
        try JPEGEncoder().encode(image, quality: quality)
    }

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
}

/// A monotonic clock the test moves by hand.
final class ManualClock: Sendable {
    private let value = Mutex<Duration>(.seconds(1000))
    var now: Duration { value.withLock { $0 } }
    func advance(_ duration: Duration) { value.withLock { $0 += duration } }
    var function: @Sendable () -> Duration { { [self] in now } }
}

/// Thread-safe list for observations made inside device callbacks.
final class Recorder<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])
    func append(_ item: T) { items.withLock { $0.append(item) } }
    var all: [T] { items.withLock { $0 } }
}

/// 640x480 MJPEG frames from a generated scene, shared by the camera tests.
enum CameraFixtures {
    static let mjpegFrame: [UInt8] = (try? Scenes.jpeg(Scenes.textured(width: 640, height: 480), quality: 85)) ?? []

    static func yuyvFrame(_ format: PixelFormat) -> [UInt8] {
        var bytes = [UInt8](repeating: 128, count: format.bytesPerLine * format.height)
        for row in 0..<format.height {
            for column in 0..<format.width {
                bytes[row * format.bytesPerLine + column * 2] = UInt8(truncatingIfNeeded: 60 + (column / 8 + row / 8) % 2 * 120 + (column * 7 + row * 13) % 17)
            }
        }
        return bytes
    }
}
