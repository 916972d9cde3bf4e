import Foundation

/// Sensirion's Gas Index Algorithm (v3.2.0, published as BSD-3-Clause C and Python at
/// github.com/Sensirion/gas-index-algorithm), written anew in Swift from the published description:
/// it turns SGP4x raw signals into a VOC index (1...500, 100 = the sensor's learned average) or a NOx index
/// (1...500, 1 = the learned clean baseline).
///
/// Feed exactly one raw sample per sampling interval. The first 45 s return 0 (blackout). The arithmetic is
/// single-precision like the vendor's, so results match the published vectors within one index point.
public struct GasIndexAlgorithm: Sendable {
    public enum Kind: Sendable { case voc, nox }

    /// Tuning constants of the published algorithm.
    enum Constant {
        static let initialBlackout: Float = 45
        static let indexGain: Float = 230
        static let srawStdInitial: Float = 50
        static let srawStdBonusVOC: Float = 220
        static let srawStdNOx: Float = 2000
        static let tauMeanHours: Float = 12
        static let tauVarianceHours: Float = 12
        static let tauInitialMeanVOC: Float = 20
        static let tauInitialMeanNOx: Float = 1200
        static let initDurationMeanVOC: Float = 3600 * 0.75
        static let initDurationMeanNOx: Float = 3600 * 4.75
        static let initTransitionMean: Float = 0.01
        static let tauInitialVariance: Float = 2500
        static let initDurationVarianceVOC: Float = 3600 * 1.45
        static let initDurationVarianceNOx: Float = 3600 * 5.70
        static let initTransitionVariance: Float = 0.01
        static let gatingThresholdVOC: Float = 340
        static let gatingThresholdNOx: Float = 30
        static let gatingThresholdInitial: Float = 510
        static let gatingThresholdTransition: Float = 0.09
        static let gatingMaxMinutesVOC: Float = 60 * 3
        static let gatingMaxMinutesNOx: Float = 60 * 12
        static let gatingMaxRatio: Float = 0.3
        static let sigmoidL: Float = 500
        static let sigmoidKVOC: Float = -0.0065
        static let sigmoidX0VOC: Float = 213
        static let sigmoidKNOx: Float = -0.0101
        static let sigmoidX0NOx: Float = 614
        static let indexOffsetVOC: Float = 100
        static let indexOffsetNOx: Float = 1
        static let lowpassTauFast: Float = 20
        static let lowpassTauSlow: Float = 500
        static let lowpassAlpha: Float = -0.2
        static let srawMinimumVOC: Int32 = 20000
        static let srawMinimumNOx: Int32 = 10000
        /// Uptime credited to a restored state: restored estimates count as fully learned.
        static let persistenceUptimeGamma: Float = 3 * 3600
        static let gammaScaling: Float = 64
        static let additionalGammaMeanScaling: Float = 8
        /// The estimator's uptime counters saturate here (the fixed-point version's int16 limit).
        static let uptimeLimit: Float = 32767
    }

    public let kind: Kind
    /// Seconds between samples.
    public let samplingInterval: Float
    let indexOffset: Float
    let srawMinimum: Int32
    let gatingMaxMinutes: Float
    let initDurationMean: Float
    let initDurationVariance: Float
    let gatingThreshold: Float

    private var uptime: Float = 0
    private var sraw: Float = 0
    private var gasIndex: Float = 0
    private var estimator: MeanVarianceEstimator
    private var lowpass: AdaptiveLowpass

    public init(kind: Kind, samplingInterval: Double = 1) {
        self.kind = kind
        self.samplingInterval = Float(samplingInterval)
        switch kind {
        case .voc:
            indexOffset = Constant.indexOffsetVOC
            srawMinimum = Constant.srawMinimumVOC
            gatingMaxMinutes = Constant.gatingMaxMinutesVOC
            initDurationMean = Constant.initDurationMeanVOC
            initDurationVariance = Constant.initDurationVarianceVOC
            gatingThreshold = Constant.gatingThresholdVOC
        case .nox:
            indexOffset = Constant.indexOffsetNOx
            srawMinimum = Constant.srawMinimumNOx
            gatingMaxMinutes = Constant.gatingMaxMinutesNOx
            initDurationMean = Constant.initDurationMeanNOx
            initDurationVariance = Constant.initDurationVarianceNOx
            gatingThreshold = Constant.gatingThresholdNOx
        }
        estimator = MeanVarianceEstimator(kind: kind, samplingInterval: self.samplingInterval)
        lowpass = AdaptiveLowpass(samplingInterval: self.samplingInterval)
    }

    /// Processes one raw sample and returns the index (0 during the blackout, else 1...500).
    /// Raw values <= 0 or >= 65000 are treated as missing: the previous sample is reused.
    public mutating func process(_ rawSample: Int32) -> Int {
        if uptime <= Constant.initialBlackout {
            uptime += samplingInterval
        } else {
            if rawSample > 0 && rawSample < 65000 {
                let clamped = min(max(rawSample, srawMinimum + 1), srawMinimum + 32767)
                sraw = Float(clamped - srawMinimum)
            }
            if kind == .voc || estimator.initialized {
                gasIndex = scaledSigmoid(moxModel(sraw))
            } else {
                gasIndex = indexOffset
            }
            gasIndex = max(lowpass.process(gasIndex), 0.5)
            if sraw > 0 {
                estimator.process(sraw, gasIndex: gasIndex, parameters: self)
            }
        }
        return Int(gasIndex + 0.5)
    }

    /// The learned state (VOC only): save it at most every few hours once the algorithm has run for 3 h.
    public var state: (mean: Float, std: Float) {
        (estimator.mean + estimator.srawOffset, estimator.std)
    }

    /// Restores a saved state, skipping the initial learning phase. Only for the VOC algorithm, and only when
    /// the interruption was shorter than 10 minutes.
    public mutating func restore(mean: Float, std: Float) {
        estimator.mean = mean
        estimator.srawOffset = 0
        estimator.std = std
        estimator.uptimeGamma = Constant.persistenceUptimeGamma
        estimator.initialized = true
        sraw = mean
    }

    /// Has the estimator run long enough (3 h) that its state is worth saving?
    public var stateIsMature: Bool { estimator.uptimeGamma >= Constant.persistenceUptimeGamma }

    // MARK: - Stages

    /// Normalises the raw signal against the learned mean and spread.
    private func moxModel(_ sraw: Float) -> Float {
        let mean = estimator.mean + estimator.srawOffset
        switch kind {
        case .nox: return (sraw - mean) / Constant.srawStdNOx * Constant.indexGain
        case .voc: return (sraw - mean) / (-1 * (estimator.std + Constant.srawStdBonusVOC)) * Constant.indexGain
        }
    }

    /// Maps the normalised signal onto 0...500 with the index offset at the learned average.
    private func scaledSigmoid(_ sample: Float) -> Float {
        let (k, x0, offsetDefault): (Float, Float, Float) = kind == .nox
            ? (Constant.sigmoidKNOx, Constant.sigmoidX0NOx, Constant.indexOffsetNOx)
            : (Constant.sigmoidKVOC, Constant.sigmoidX0VOC, Constant.indexOffsetVOC)
        let x = k * (sample - x0)
        if x < -50 { return Constant.sigmoidL }
        if x > 50 { return 0 }
        if sample >= 0 {
            let shift = offsetDefault == 1
                ? (500 / 499) * (1 - indexOffset)
                : (Constant.sigmoidL - 5 * indexOffset) / 4
            return (Constant.sigmoidL + shift) / (1 + expf(x)) - shift
        }
        return indexOffset / offsetDefault * (Constant.sigmoidL / (1 + expf(x)))
    }

    /// 1 / (1 + e^(k (x - x0))), saturating outside |k (x - x0)| <= 50.
    static func sigmoid(_ sample: Float, x0: Float, k: Float) -> Float {
        let x = k * (sample - x0)
        if x < -50 { return 1 }
        if x > 50 { return 0 }
        return 1 / (1 + expf(x))
    }
}

/// Tracks the running mean and standard deviation of the raw signal, learning fast at first and slowly
/// later, and pausing ("gating") while the index is high so real events are not learned as baseline.
private struct MeanVarianceEstimator {
    typealias C = GasIndexAlgorithm.Constant

    var initialized = false
    var mean: Float = 0
    var srawOffset: Float = 0
    var std: Float
    let gammaMean: Float
    let gammaVariance: Float
    let gammaInitialMean: Float
    let gammaInitialVariance: Float
    var currentGammaMean: Float = 0
    var currentGammaVariance: Float = 0
    var uptimeGamma: Float = 0
    var uptimeGating: Float = 0
    var gatingMinutes: Float = 0

    init(kind: GasIndexAlgorithm.Kind, samplingInterval dt: Float) {
        std = C.srawStdInitial
        let hours = dt / 3600
        gammaMean = C.additionalGammaMeanScaling * C.gammaScaling * hours / (C.tauMeanHours + hours)
        gammaVariance = C.gammaScaling * hours / (C.tauVarianceHours + hours)
        let tauInitialMean = kind == .nox ? C.tauInitialMeanNOx : C.tauInitialMeanVOC
        gammaInitialMean = C.additionalGammaMeanScaling * C.gammaScaling * dt / (tauInitialMean + dt)
        gammaInitialVariance = C.gammaScaling * dt / (C.tauInitialVariance + dt)
    }

    mutating func process(_ sample: Float, gasIndex: Float, parameters p: GasIndexAlgorithm) {
        guard initialized else {
            initialized = true
            srawOffset = sample
            mean = 0
            return
        }
        // Keep `mean` small by moving whole steps into the offset (the fixed-point heritage of the algorithm).
        if mean >= 100 || mean <= -100 {
            srawOffset += mean
            mean = 0
        }
        let sraw = sample - srawOffset
        updateGamma(gasIndex: gasIndex, parameters: p)
        let delta = (sraw - mean) / C.gammaScaling
        let c = delta < 0 ? std - delta : std + delta
        let scaling: Float = c > 1440 ? (c / 1440) * (c / 1440) : 1
        std = sqrtf(scaling * (C.gammaScaling - currentGammaVariance))
            * sqrtf(std * (std / (C.gammaScaling * scaling)) + currentGammaVariance * delta / scaling * delta)
        mean += currentGammaMean * delta / C.additionalGammaMeanScaling
    }

    private mutating func updateGamma(gasIndex: Float, parameters p: GasIndexAlgorithm) {
        let dt = p.samplingInterval
        let limit = C.uptimeLimit - dt
        if uptimeGamma < limit { uptimeGamma += dt }
        if uptimeGating < limit { uptimeGating += dt }

        let sigmoidGammaMean = GasIndexAlgorithm.sigmoid(uptimeGamma, x0: p.initDurationMean, k: C.initTransitionMean)
        let gammaMeanNow = gammaMean + (gammaInitialMean - gammaMean) * sigmoidGammaMean
        let gatingInitialWeight = GasIndexAlgorithm.sigmoid(uptimeGating, x0: p.initDurationMean, k: C.initTransitionMean)
        let gatingThresholdMean = p.gatingThreshold + (C.gatingThresholdInitial - p.gatingThreshold) * gatingInitialWeight
        let sigmoidGatingMean = GasIndexAlgorithm.sigmoid(gasIndex, x0: gatingThresholdMean, k: C.gatingThresholdTransition)
        currentGammaMean = sigmoidGatingMean * gammaMeanNow

        let sigmoidGammaVariance = GasIndexAlgorithm.sigmoid(uptimeGamma, x0: p.initDurationVariance, k: C.initTransitionVariance)
        let gammaVarianceNow = gammaVariance + (gammaInitialVariance - gammaVariance) * (sigmoidGammaVariance - sigmoidGammaMean)
        // The vendor evaluates the gating-uptime sigmoid with the variance transition parameters here.
        let gatingVarianceWeight = GasIndexAlgorithm.sigmoid(uptimeGating, x0: p.initDurationVariance, k: C.initTransitionVariance)
        let gatingThresholdVariance = p.gatingThreshold + (C.gatingThresholdInitial - p.gatingThreshold) * gatingVarianceWeight
        let sigmoidGatingVariance = GasIndexAlgorithm.sigmoid(gasIndex, x0: gatingThresholdVariance, k: C.gatingThresholdTransition)
        currentGammaVariance = sigmoidGatingVariance * gammaVarianceNow

        gatingMinutes += dt / 60 * ((1 - sigmoidGatingMean) * (1 + C.gatingMaxRatio) - C.gatingMaxRatio)
        if gatingMinutes < 0 { gatingMinutes = 0 }
        if gatingMinutes > p.gatingMaxMinutes { uptimeGating = 0 }
    }
}

/// A low-pass filter whose time constant shrinks when the signal moves fast (fast and slow filters disagree).
private struct AdaptiveLowpass {
    typealias C = GasIndexAlgorithm.Constant
    let dt: Float
    let a1: Float
    let a2: Float
    var initialized = false
    var fast: Float = 0
    var slow: Float = 0
    var output: Float = 0

    init(samplingInterval dt: Float) {
        self.dt = dt
        a1 = dt / (C.lowpassTauFast + dt)
        a2 = dt / (C.lowpassTauSlow + dt)
    }

    mutating func process(_ sample: Float) -> Float {
        if !initialized {
            fast = sample
            slow = sample
            output = sample
            initialized = true
        }
        fast = (1 - a1) * fast + a1 * sample
        slow = (1 - a2) * slow + a2 * sample
        let delta = abs(fast - slow)
        let tau = (C.lowpassTauSlow - C.lowpassTauFast) * expf(C.lowpassAlpha * delta) + C.lowpassTauFast
        let a3 = dt / (dt + tau)
        output = (1 - a3) * output + a3 * sample
        return output
    }
}
