#if canImport(Glibc)
import CMalloc
#endif

/// glibc malloc settings for our processes.
public enum Heap {
    /// Serves every allocation of at least `bytes` with a mapping of its own, so freeing it returns its
    /// pages to the system at once. Call it first thing in `main`.
    ///
    /// Why: glibc starts with a 128 KiB threshold but raises it to the size of any mapped block that is
    /// freed (up to 32 MiB). After the model file and the ONNX parse are freed, later multi-hundred-KB
    /// blocks (weights, arenas, frames) come from the heap instead, and freed ones stay resident there.
    /// Measured with `remotaird classify` (VmHWM): MobileNetV2 26.9 -> 24.9 MB, the small model
    /// 19.6 -> 19.2 MB. A fixed threshold also stops that adjustment.
    /// Returns false for a threshold the C library refuses, or where it has no such setting.
    @discardableResult
    public static func mapLargeBlocksSeparately(from bytes: Int = 64 * 1024) -> Bool {
        #if canImport(Glibc)
        guard let threshold = Int32(exactly: bytes), threshold > 0 else { return false }
        return mallopt(M_MMAP_THRESHOLD, threshold) == 1
        #else
        return false
        #endif
    }

    /// Gives the system back the free memory inside the heap, not only at its top (`malloc_trim(0)`). Call it
    /// after a one-off burst of allocations, such as loading a model: the parse's and the planner's freed
    /// blocks under 64 KiB otherwise stay resident, about 1 MB for a small model, and count in the peak that
    /// the first frames then add to. Returns whether any memory was returned.
    @discardableResult
    public static func returnFreeMemory() -> Bool {
        #if canImport(Glibc)
        return malloc_trim(0) == 1
        #else
        return false
        #endif
    }
}
