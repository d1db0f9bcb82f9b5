package iot.engine;

/**
 * rate_of_change: a reading whose temperature changed faster than {@code max_f_per_minute} since
 * the sensor's reading before it (by event time), the change measured over at least
 * {@code min_interval_seconds} (two readings a second apart differ by the sensor's noise, not by
 * what air or a casing can do in a second). Reported once per jump: a jump is judged against the
 * last reading before it that was no jump, and the reading after a jump tells what it was. Back
 * near the reading before the jump: a spike (the next jump is judged from there). Near the jump's
 * reading: the sensor moved (a new level, quiet), and the level it left is kept for
 * {@code BEFORE_READINGS} readings: a jump back to it ends an excursion (a drift), quietly. Far
 * from both: another jump, judged from the jump's reading. Impossible values are the band
 * rule's: skipped.
 */
public final class RateOfChangeRule implements Rule<RateOfChangeRule.State> {
    private static final long serialVersionUID = 1L;
    static final int BEFORE_READINGS = 100;
    private final boolean enabled;
    private final double maxPerMinute;
    private final long minIntervalMicros;

    /** A sensor's slice: the reading jumps are judged from, the last reading if it jumped
     * (time NONE: it did not), and the level before its last move (NaN: none) for how many more
     * readings. */
    public static final class State {
        long time = Sensor.NONE;
        double value;
        long jumpTime = Sensor.NONE;
        double jumpValue;
        double before = Double.NaN;
        int beforeLeft;

        public long getTime() { return time; }
        public void setTime(long v) { time = v; }
        public double getValue() { return value; }
        public void setValue(double v) { value = v; }
        public long getJumpTime() { return jumpTime; }
        public void setJumpTime(long v) { jumpTime = v; }
        public double getJumpValue() { return jumpValue; }
        public void setJumpValue(double v) { jumpValue = v; }
        public double getBefore() { return before; }
        public void setBefore(double v) { before = v; }
        public int getBeforeLeft() { return beforeLeft; }
        public void setBeforeLeft(int v) { beforeLeft = v; }
    }

    RateOfChangeRule(Settings settings) {
        Settings s = settings.detector("rate_of_change");
        enabled = s.flag("enabled", true);
        maxPerMinute = s.number("max_f_per_minute", 10, m -> m > 0, "> 0");
        minIntervalMicros = Math.round(1e6 * s.number("min_interval_seconds", 60, m -> m > 0, "> 0"));
    }

    @Override public String name() { return "rate_of_change"; }
    @Override public State fresh() { return new State(); }

    /** °F per minute from ({@code fromTime}, {@code from}) to ({@code when}, {@code value}). */
    private double rate(long fromTime, double from, long when, double value) {
        return (value - from) / (Math.max(when - fromTime, minIntervalMicros) / 60e6);
    }

    @Override
    public void observe(State s, Reading r, Findings out) {
        if (!r.plausible()) return;
        if (s.time == Sensor.NONE || r.when() < s.time) { // the first, or older than it
            if (s.time == Sensor.NONE) take(s, r);
            return;
        }
        if (s.beforeLeft > 0 && --s.beforeLeft == 0) s.before = Double.NaN;
        boolean jumped = s.jumpTime != Sensor.NONE;
        if (!(Math.abs(rate(s.time, s.value, r.when(), r.value())) > maxPerMinute)) { // no jump
            take(s, r);
            return;
        }
        if (jumped && !(Math.abs(rate(s.jumpTime, s.jumpValue, r.when(), r.value())) > maxPerMinute)) {
            s.before = s.value; // near the jump's reading: the sensor moved
            s.beforeLeft = BEFORE_READINGS;
            take(s, r);
            return;
        }
        if (!jumped && !Double.isNaN(s.before)
                && !(Math.abs(rate(s.time, s.before, r.when(), r.value())) > maxPerMinute)) {
            s.before = Double.NaN; // back at the level it left: an excursion's end
            take(s, r);
            return;
        }
        // A jump: from the reading before it (the last that was no jump, or the jump before).
        if (enabled) {
            double rate = jumped ? rate(s.jumpTime, s.jumpValue, r.when(), r.value())
                    : rate(s.time, s.value, r.when(), r.value());
            out.find(name(), rate > 0 ? "rise" : "fall", Math.abs(rate)); // °F per minute
        }
        s.jumpTime = r.when();
        s.jumpValue = r.value();
    }

    /** The reading is no jump (or ends one): later jumps are judged from it. */
    private static void take(State s, Reading r) {
        s.time = r.when();
        s.value = r.value();
        s.jumpTime = Sensor.NONE;
    }
}
