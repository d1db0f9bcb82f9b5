package iot.engine;

import java.util.Arrays;

/**
 * silent: a sensor that reported before and then sent nothing for longer than its own cadence
 * allows: {@code missed_readings} of its long intervals (the QUANTILE of its last INTERVALS, so a
 * sensor that reports at irregular times is judged by its longer gaps, a regular one by its
 * period), and at least {@code after_seconds}, by event time; at most the TTL (the sensor is
 * forgotten then), which is also the allowance of a sensor with fewer than KNOWN intervals (its
 * cadence is not known yet). Reported once, as a finding of its last reading, as soon as the rules'
 * clock has passed that much time after it: when the sensor comes back, or when its timer fires.
 * Its score is the silence it was judged by, in seconds.
 */
public final class SilentRule implements Rule<SilentRule.State> {
    private static final long serialVersionUID = 1L;
    static final int INTERVALS = 16;
    static final double QUANTILE = 0.9;
    static final int KNOWN = 3;
    private final boolean enabled;
    private final long afterMicros, ttlMicros;
    private final int missed;

    /** A sensor's slice: whether its present silence is reported, and its last intervals (µs,
     * the oldest overwritten first). */
    public static final class State {
        boolean reported;
        long[] intervals = new long[0];
        int next;

        public boolean isReported() { return reported; }
        public void setReported(boolean v) { reported = v; }
        public long[] getIntervals() { return intervals; }
        public void setIntervals(long[] v) { intervals = v; }
        public int getNext() { return next; }
        public void setNext(int v) { next = v; }
    }

    SilentRule(Settings settings) {
        Settings s = settings.detector("silent");
        double ttl = settings.number("sensor_ttl_seconds");
        enabled = s.flag("enabled", true);
        // Below the TTL: the sensor's one timer fires at the earlier of the two (Sensor.dueMs).
        afterMicros = Math.round(1e6 * s.number("after_seconds", 120, a -> a > 0 && a < ttl,
                "> 0 and below [detectors] sensor_ttl_seconds (" + ttl + ")"));
        missed = s.count("missed_readings", 10, 1);
        ttlMicros = Math.round(ttl * 1e6);
    }

    @Override public String name() { return "silent"; }
    @Override public State fresh() { return new State(); }

    /** How long the sensor may send nothing (µs): missed_readings of its long interval (the
     * QUANTILE of its last intervals, the nearest rank), at least after_seconds, below the TTL;
     * the TTL's while it has fewer than KNOWN intervals. */
    long allowedMicros(State s) {
        if (s.intervals.length < KNOWN) return ttlMicros - 1;
        long[] sorted = s.intervals.clone();
        Arrays.sort(sorted);
        long usual = sorted[(int) Math.floor(QUANTILE * (sorted.length - 1) + 0.5)];
        long allowed = Math.max(afterMicros, usual > Long.MAX_VALUE / missed ? Long.MAX_VALUE : usual * missed);
        return Math.min(allowed, ttlMicros - 1);
    }

    private void report(State s, String state, long when, double value, Findings out) {
        out.findAt(name(), state, when, value, "silent", allowedMicros(s) / 1e6);
    }

    @Override
    public void observe(State s, Reading r, Findings out) {
        long before = r.previousTime();
        if (before != Sensor.NONE && r.when() > before) {
            if (enabled && !s.reported && r.when() - before > allowedMicros(s)) {
                report(s, r.previousState(), before, r.previousValue(), out);
            }
            if (s.intervals.length < INTERVALS) {
                s.intervals = Arrays.copyOf(s.intervals, s.intervals.length + 1);
                s.next = s.intervals.length - 1;
            }
            s.intervals[s.next] = r.when() - before;
            s.next = (s.next + 1) % INTERVALS;
        }
        if (before == Sensor.NONE || r.when() > before) s.reported = false;
    }

    @Override
    public long dueMicros(State s, Sensor sensor) {
        return enabled && !s.reported ? sensor.lastTime() + allowedMicros(s) + 1 : Sensor.NONE;
    }

    @Override
    public void expire(State s, Sensor sensor, long judgedUntil, Findings out) {
        if (enabled && !s.reported && judgedUntil - sensor.lastTime() > allowedMicros(s)) {
            report(s, sensor.state(), sensor.lastTime(), sensor.lastValue(), out);
            s.reported = true;
        }
    }
}
