package iot.engine;

/**
 * stuck: a run of identical values longer than the sensor's own readings make likely, reported
 * once per run (its length). How often a sensor repeats its value depends on its resolution and
 * how much it varies: a probe read to 0.1 °F in moving air seldom does, one read to 0.01 °C in a
 * quiet room often does, for tens of minutes. So a run is stuck once it has {@code repeats}
 * readings and is less likely than {@code chance} for a sensor that repeats its value at the
 * rate it did over its last TRANSITIONS changes of reading (an upper bound of that rate: the
 * Wilson bound at 95%; runs it reported are left out of it). A sensor with no history yet is
 * taken to repeat at the rate CAP, which bounds how long a run must be.
 */
public final class StuckRule implements Rule<StuckRule.State> {
    private static final long serialVersionUID = 1L;
    static final int TRANSITIONS = 200;
    static final double Z = 1.645;
    static final double CAP = 0.95;
    final boolean enabled; // (LegacySensorState reads them too)
    final int repeats;
    private final double logChance;

    /** A sensor's slice: how many readings in a row had its latest value, whether that run was
     * reported, and its last transitions (1: the value repeated) as bits, the oldest overwritten. */
    public static final class State {
        int repeats;
        boolean reported;
        long[] bits = new long[(TRANSITIONS + 63) / 64];
        int size, next, ones;

        public int getRepeats() { return repeats; }
        public void setRepeats(int v) { repeats = v; }
        public boolean isReported() { return reported; }
        public void setReported(boolean v) { reported = v; }
        public long[] getBits() { return bits; }
        public void setBits(long[] v) { bits = v; }
        public int getSize() { return size; }
        public void setSize(int v) { size = v; }
        public int getNext() { return next; }
        public void setNext(int v) { next = v; }
        public int getOnes() { return ones; }
        public void setOnes(int v) { ones = v; }
    }

    StuckRule(Settings settings) {
        Settings s = settings.detector("stuck");
        enabled = s.flag("enabled", true);
        repeats = s.count("repeats", 10, 2);
        logChance = Math.log(s.number("chance", 1e-15, c -> c > 0 && c < 1, "between 0 and 1"));
    }

    @Override public String name() { return "stuck"; }
    @Override public State fresh() { return new State(); }

    /** The rate at which the sensor repeats its value, bounded above (the Wilson score bound). */
    static double repeatRate(State s) {
        if (s.size == 0) return CAP;
        double n = s.size, p = s.ones / n, z2 = Z * Z;
        double upper = (p + z2 / (2 * n) + Z * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))) / (1 + z2 / n);
        return Math.min(CAP, upper);
    }

    /** The readings in a row that make a run stuck for this sensor. */
    int runLimit(State s) {
        double p = repeatRate(s);
        double needed = p <= 0 ? 1 : 1 + Math.ceil(logChance / Math.log(p));
        return (int) Math.max(repeats, Math.min(needed, Integer.MAX_VALUE));
    }

    private static void push(State s, boolean repeat) {
        int word = s.next / 64;
        long bit = 1L << (s.next % 64);
        if (s.size == TRANSITIONS && (s.bits[word] & bit) != 0) s.ones--;
        if (repeat) {
            s.bits[word] |= bit;
            s.ones++;
        } else {
            s.bits[word] &= ~bit;
        }
        s.size = Math.min(TRANSITIONS, s.size + 1);
        s.next = (s.next + 1) % TRANSITIONS;
    }

    @Override
    public void observe(State s, Reading r, Findings out) {
        if (r.repeat()) {
            s.repeats++;
        } else { // the run ends: its transitions join the sensor's rate, unless it was stuck
            if (s.repeats >= 1) {
                if (!s.reported) for (int i = 1; i < s.repeats; i++) push(s, true);
                push(s, false);
            }
            s.repeats = 1;
            s.reported = false;
        }
        if (enabled && !s.reported && s.repeats >= runLimit(s)) {
            out.find(name(), "stuck", s.repeats);
            s.reported = true;
        }
    }
}
