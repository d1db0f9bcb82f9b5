package iot.engine;

import java.util.Arrays;
import java.util.List;

/**
 * One sensor's state in the step: what every rule relies on (its latest reading, whether it has
 * a model at all, the windows it was counted in, the readings accepted in windows still open, its
 * timer), and each rule's own slice, in the order of the step's rules. A sensor the job has
 * forgotten (TTL) keeps its entry with no model, so that it is never counted as a new sensor
 * twice. Stored by {@link SensorCodec}.
 */
public final class Sensor {
    public static final long NONE = Long.MIN_VALUE;

    boolean hasModel;
    double lastValue;
    long lastTime = NONE; // µs of event time of the latest reading
    String state;
    long[] windows = new long[0]; // starts of the windows it was counted in (restate horizon)
    long timer = NONE; // the one event-time timer registered for it (ms), if any
    // The readings accepted in windows still open (event time, value), and the latest such time.
    long[] seenTimes = new long[0];
    double[] seenValues = new double[0];
    int seenSize;
    long seenMax = NONE;
    final Object[] slices;

    Sensor(List<Rule<?>> rules) {
        slices = new Object[rules.size()];
        for (int i = 0; i < slices.length; i++) slices[i] = rules.get(i).fresh();
    }

    public long lastTime() {
        return lastTime;
    }

    public double lastValue() {
        return lastValue;
    }

    public String state() {
        return state;
    }

    /** The slice of the rule at {@code index} of the step's rules. */
    @SuppressWarnings("unchecked")
    <S> S slice(int index) {
        return (S) slices[index];
    }

    /** Feeds one on-time reading that is no duplicate to every rule, in order. */
    void observe(List<Rule<?>> rules, String readingState, long when, double value, String band,
                 Findings out) {
        Reading r = new Reading(readingState, when, value, band, !Contract.IMPOSSIBLE.equals(band),
                                hasModel && value == lastValue, lastTime, lastValue, state);
        hasModel = true;
        if (lastTime == NONE || when > lastTime) lastTime = when;
        state = readingState;
        lastValue = value;
        for (int i = 0; i < slices.length; i++) observe(rules.get(i), i, r, out);
    }

    private <S> void observe(Rule<S> rule, int index, Reading r, Findings out) {
        rule.observe(this.<S>slice(index), r, out);
    }

    /** The timer fired at {@code watermark} (µs): rules report what is due; past the TTL, the
     * model is forgotten; the windows the clock closed are dropped. */
    void expire(List<Rule<?>> rules, long watermark, long ttlMicros, long windowMicros,
                long restateMicros, Findings out) {
        if (hasModel && lastTime != NONE) {
            for (int i = 0; i < slices.length; i++) expire(rules.get(i), i, watermark, out);
            if (lastTime + ttlMicros <= watermark) forget(rules);
        }
        closeWindows(windowMicros, restateMicros, watermark); // a sensor gone: nothing left open
    }

    private <S> void expire(Rule<S> rule, int index, long watermark, Findings out) {
        rule.expire(this.<S>slice(index), this, watermark, out);
    }

    /** When this sensor next needs looking at without a reading (ms of event time), or NONE. */
    long dueMs(List<Rule<?>> rules, long ttlMicros) {
        if (!hasModel || lastTime == NONE) return NONE;
        long due = lastTime + ttlMicros;
        for (int i = 0; i < slices.length; i++) {
            long d = due(rules.get(i), i);
            if (d != NONE && d < due) due = d;
        }
        return Math.floorDiv(due + 999, 1000);
    }

    private <S> long due(Rule<S> rule, int index) {
        return rule.dueMicros(this.<S>slice(index), this);
    }

    /** Forgets the model (TTL): every rule's slice, the latest reading. The sensor stays known,
     * and so do the windows it was counted in and the readings seen in them (a window longer
     * than the TTL may still be open: it must not count the sensor twice, nor take a re-send). */
    void forget(List<Rule<?>> rules) {
        hasModel = false;
        lastValue = 0;
        lastTime = NONE;
        for (int i = 0; i < slices.length; i++) slices[i] = rules.get(i).fresh();
    }

    /** Where the reading accepted at {@code when} (event time) is among the seen ones, or -1. */
    int seen(long when) {
        if (seenMax == NONE || when > seenMax) return -1; // the usual case: a newer reading
        for (int i = seenSize - 1; i >= 0; i--) if (seenTimes[i] == when) return i;
        return -1;
    }

    double seenValue(int index) {
        return seenValues[index];
    }

    /** Remembers an accepted reading until its window closes. */
    void remember(long when, double value) {
        if (seenTimes.length == seenSize) {
            seenTimes = Arrays.copyOf(seenTimes, seenSize * 2 + 4);
            seenValues = Arrays.copyOf(seenValues, seenTimes.length);
        }
        seenTimes[seenSize] = when;
        seenValues[seenSize++] = value;
        if (seenMax == NONE || when > seenMax) seenMax = when;
    }

    /** Whether the window starting at {@code start} is new for this sensor (and records it). */
    boolean firstInWindow(long start) {
        for (long w : windows) if (w == start) return false;
        windows = Arrays.copyOf(windows, windows.length + 1);
        windows[windows.length - 1] = start;
        return true;
    }

    /** Drops what the clock has made useless: the readings seen in windows it closed (a re-send
     * of one is late), and the windows this sensor was counted in that ended a restate horizon or
     * more before it (a late reading of theirs restates nothing). */
    void closeWindows(long windowMicros, long restateMicros, long clockMicros) {
        int kept = 0;
        long horizon = clockMicros - restateMicros;
        for (long w : windows) if (w + windowMicros > horizon) windows[kept++] = w;
        if (kept < windows.length) windows = Arrays.copyOf(windows, kept);
        kept = 0;
        for (int i = 0; i < seenSize; i++) {
            long t = seenTimes[i];
            if (Math.floorDiv(t, windowMicros) * windowMicros + windowMicros > clockMicros) {
                seenTimes[kept] = t;
                seenValues[kept++] = seenValues[i];
            }
        }
        seenSize = kept;
        if (kept == 0) seenMax = NONE;
    }
}
