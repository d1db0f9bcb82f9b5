package iot.engine;

import java.io.Serializable;

/**
 * The settings of the per-sensor detectors and of the windows, as the Python job reads them from
 * its config ([windows], [detectors.*]). Times are in microseconds of event time. level_shift's
 * readings also set when zscore takes a new level when level_shift is disabled. A late reading
 * whose window ended less than {@code restateMicros} before the clock restates its window: the
 * step remembers, for that long, the windows each sensor was counted in.
 */
public record Rules(
        long windowMicros,
        boolean zscore, int history, int minHistory, double threshold, double minSigma,
        boolean stuck, int repeats,
        boolean silent, long silentMicros,
        long ttlMicros,
        boolean levelShift, int shiftReadings,
        long restateMicros) implements Serializable {

    public Rules {
        if (windowMicros <= 0 || history < 1 || minHistory < 1 || repeats < 2 || ttlMicros <= 0
                || silentMicros <= 0 || shiftReadings < 2 || restateMicros < 0) {
            throw new IllegalArgumentException("invalid detector settings: window " + windowMicros
                    + " µs, history " + history + " (from " + minHistory + "), repeats " + repeats
                    + ", silence " + silentMicros + " µs, TTL " + ttlMicros + " µs, level shift after "
                    + shiftReadings + " readings, restate horizon " + restateMicros + " µs");
        }
    }
}
