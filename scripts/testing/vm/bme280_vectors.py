#!/usr/bin/env python3
"""BME280 register image for i2c-stub and the readings it must produce.

The VM test preloads i2c-stub (chip_addr=0x76) with this register image and compares what
`remotaird sensors --json` reports with the values computed here by Bosch's integer compensation
formulas (BME280 datasheet BST-BME280-DS002, "compensation formulas": 32-bit temperature, 64-bit
pressure, 32-bit humidity), evaluated with C integer semantics (arithmetic shifts, truncating division,
int32 wrap-around where the datasheet code uses BME280_S32_t).

Temperature and pressure trimming and raw values are the worked compensation example in Bosch's BMP280
datasheet (BST-BMP280-DS001: adc_T 519888 -> 25.08 degC, adc_P 415148 -> about 100653 Pa);
the BME280 shares those formulas and register layout. Bosch publishes no worked humidity example,
so the humidity trimming is a plausible production part's and the expected value comes from the
formula alone.

  bme280_vectors.py regs       "register value" lines (hex) for i2cset, in register order
  bme280_vectors.py expected   temperature_c=..., pressure_pa=..., humidity_percent=... lines
"""
import sys

CHIP_ID = 0x60
T = dict(T1=27504, T2=26435, T3=-1000)
P = dict(P1=36477, P2=-10685, P3=3024, P4=2855, P5=140, P6=-7, P7=15500, P8=-14600, P9=6000)
H = dict(H1=75, H2=362, H3=0, H4=313, H5=50, H6=30)
ADC_T, ADC_P, ADC_H = 519888, 415148, 27000


def s32(x):
    """Wrap to int32 like the datasheet's BME280_S32_t arithmetic."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def s64(x):
    x &= 0xFFFFFFFFFFFFFFFF
    return x - (1 << 64) if x & (1 << 63) else x


def cdiv(a, b):
    """C integer division truncates toward zero; Python's // floors."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def compensate():
    t1, t2, t3 = T["T1"], T["T2"], T["T3"]
    var1 = s32((s32((ADC_T >> 3) - (t1 << 1)) * t2) >> 11)
    d = s32((ADC_T >> 4) - t1)
    var2 = s32((s32(s32(d * d) >> 12) * t3) >> 14)
    t_fine = s32(var1 + var2)
    temp = s32(t_fine * 5 + 128) >> 8  # 0.01 degC

    v1 = s64(t_fine - 128000)
    v2 = s64(v1 * v1 * P["P6"])
    v2 = s64(v2 + s64((v1 * P["P5"]) << 17))
    v2 = s64(v2 + (P["P4"] << 35))
    v1 = s64(s64((v1 * v1 * P["P3"]) >> 8) + s64((v1 * P["P2"]) << 12))
    v1 = s64(s64(((1 << 47) + v1) * P["P1"]) >> 33)
    if v1 == 0:
        raise SystemExit("pressure: var1 is 0 (division by zero in the datasheet formula)")
    p = 1048576 - ADC_P
    p = cdiv(s64(s64((p << 31) - v2) * 3125), v1)
    v1 = s64(P["P9"] * (p >> 13) * (p >> 13)) >> 25
    v2 = s64(P["P8"] * p) >> 19
    p = ((p + v1 + v2) >> 8) + (P["P7"] << 4)  # Q24.8 Pa

    x = s32(t_fine - 76800)
    a = s32(s32(s32(s32(ADC_H << 14) - s32(H["H4"] << 20) - s32(H["H5"] * x)) + 16384) >> 15)
    b = s32(s32(s32(s32(x * H["H6"]) >> 10) * s32(s32(s32(x * H["H3"]) >> 11) + 32768)) >> 10)
    b = s32(s32(s32(b + 2097152) * H["H2"]) + 8192) >> 14
    x = s32(a * b)
    square = s32((x >> 15) * (x >> 15))
    x = s32(x - (s32((square >> 7) * H["H1"]) >> 4))
    x = min(max(x, 0), 419430400)
    hum = x >> 12  # Q22.10 %RH
    return temp, p, hum


def le16(value):
    value &= 0xFFFF
    return [value & 0xFF, value >> 8]


def registers():
    regs = {0xD0: CHIP_ID}
    block = []
    for name in ("T1", "T2", "T3"):
        block += le16(T[name])
    for name in ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9"):
        block += le16(P[name])
    for offset, byte in enumerate(block):  # 0x88..0x9F
        regs[0x88 + offset] = byte
    regs[0xA0] = 0x00
    regs[0xA1] = H["H1"]
    regs[0xE1], regs[0xE2] = le16(H["H2"])
    regs[0xE3] = H["H3"]
    # dig_H4 = E4[7:0] << 4 | E5[3:0]; dig_H5 = E6[7:0] << 4 | E5[7:4] (both signed 12-bit).
    h4, h5 = H["H4"] & 0xFFF, H["H5"] & 0xFFF
    regs[0xE4] = h4 >> 4
    regs[0xE5] = ((h5 & 0x0F) << 4) | (h4 & 0x0F)
    regs[0xE6] = h5 >> 4
    regs[0xE7] = H["H6"] & 0xFF
    # Raw data: press 0xF7..0xF9 and temp 0xFA..0xFC are 20-bit msb,lsb,xlsb[7:4]; hum 0xFD..0xFE.
    for base, adc in ((0xF7, ADC_P), (0xFA, ADC_T)):
        regs[base], regs[base + 1], regs[base + 2] = adc >> 12, (adc >> 4) & 0xFF, (adc & 0x0F) << 4
    regs[0xFD], regs[0xFE] = ADC_H >> 8, ADC_H & 0xFF
    return regs


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "regs":
        for reg, value in sorted(registers().items()):
            print(f"0x{reg:02x} 0x{value:02x}")
    elif command == "expected":
        temp, p, hum = compensate()
        print(f"temperature_c={temp / 100:.2f}")
        print(f"pressure_pa={p / 256:.2f}")
        print(f"humidity_percent={hum / 1024:.3f}")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
