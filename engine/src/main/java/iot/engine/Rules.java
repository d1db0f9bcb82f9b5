package iot.engine;

import java.io.Serializable;

/**
 * The settings of the per-sensor detectors and of the windows, as the Python job reads them from
 * its config ([windows], [detectors.*]). Times are in microseconds of event time. level_shift's
 * readings also set when zscore takes a new level when level_shift is disabled.
 */
public record Rules(
        long windowMicros, long watermarkMicros,
        boolean zscore, int history, int minHistory, double threshold, double minSigma,
        boolean stuck, int repeats,
        boolean silent, long silentMicros,
        long ttlMicros,
        boolean levelShift, int shiftReadings) implements Serializable {

    public Rules {
        if (windowMicros <= 0 || watermarkMicros < 0 || history < 1 || minHistory < 1 || repeats < 2 || ttlMicros <= 0
                || silentMicros <= 0 || shiftReadings < 2) {
            throw new IllegalArgumentException("invalid detector settings: window " + windowMicros
                    + " µs, watermark delay " + watermarkMicros
                    + " µs, history " + history + " (from " + minHistory + "), repeats " + repeats
                    + ", silence " + silentMicros + " µs, TTL " + ttlMicros + " µs, level shift after "
                    + shiftReadings + " readings");
        }
    }
}
