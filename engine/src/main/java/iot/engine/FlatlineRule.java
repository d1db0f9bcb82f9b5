package iot.engine;

/**
 * flatline: a sensor whose spread collapses far below its own, while its values still change: the
 * standard deviation of its last {@code readings} readings falls below {@code ratio} of its usual
 * one, and no two readings in a row among them are equal (a run of one value is stuck's, and a
 * sensor whose coarse readings repeat is not judged by its spread). A frozen or disconnected probe
 * that still sends smooth, noise-free values. The usual spread is learned from the sensor's own
 * windows while it is not flat (a moving average over about {@code warmup} readings), and judged
 * by once it has {@code warmup} readings. Reported once per episode, at the reading that makes the
 * window flat, with how many times smaller the spread is as the score; the episode ends when the
 * spread is back above half its usual.
 */
public final class FlatlineRule implements Rule<FlatlineRule.State> {
    private static final long serialVersionUID = 1L;
    private final boolean enabled;
    private final int readings, warmup;
    private final double ratio, alpha;

    /** A sensor's slice: its last readings (a ring) and whether each repeated the one before,
     * how many it has had, its usual spread, whether it is flat now. */
    public static final class State {
        double[] values = new double[0];
        boolean[] repeats = new boolean[0];
        int size, next;
        long seen;
        double usual;
        boolean flat;

        // Stored: the window oldest first (a ring of `readings` again once it takes a reading).
        public double[] getValues() {
            double[] v = new double[size];
            for (int i = 0; i < size; i++) v[i] = values[at(this, i)];
            return v;
        }
        public void setValues(double[] v) { values = v; size = v.length; next = 0; }
        public boolean[] getRepeats() {
            boolean[] v = new boolean[size];
            for (int i = 0; i < size; i++) v[i] = repeats[at(this, i)];
            return v;
        }
        public void setRepeats(boolean[] v) { repeats = v; }
        public long getSeen() { return seen; }
        public void setSeen(long v) { seen = v; }
        public double getUsual() { return usual; }
        public void setUsual(double v) { usual = v; }
        public boolean isFlat() { return flat; }
        public void setFlat(boolean v) { flat = v; }
    }

    FlatlineRule(Settings settings) {
        Settings s = settings.detector("flatline");
        enabled = s.flag("enabled", true);
        readings = s.count("readings", 30, 5);
        ratio = s.number("ratio", 0.05, r -> r > 0 && r < 1, "between 0 and 1");
        warmup = s.count("warmup", 300, readings);
        alpha = 2.0 / (warmup + 1);
    }

    @Override public String name() { return "flatline"; }
    @Override public State fresh() { return new State(); }

    /** Where the window's {@code i}-th reading is, oldest first. */
    static int at(State s, int i) {
        return Math.floorMod(s.next - s.size + i, s.values.length);
    }

    /** The window's standard deviation (summed oldest first: the same after a restore), or NaN
     * while it is not full or has a repeat in it (a reading equal to the one before it). */
    double spread(State s) {
        if (s.size < readings) return Double.NaN;
        double mean = 0, squares = 0;
        for (int i = 0; i < s.size; i++) {
            if (s.repeats[at(s, i)]) return Double.NaN;
            mean += s.values[at(s, i)];
        }
        mean /= s.size;
        for (int i = 0; i < s.size; i++) squares += (s.values[at(s, i)] - mean) * (s.values[at(s, i)] - mean);
        return Math.sqrt(squares / s.size);
    }

    @Override
    public void observe(State s, Reading r, Findings out) {
        if (!r.plausible()) return;
        if (s.values.length != readings) { // stored (its window only), or `readings` changed
            double[] window = s.getValues();
            boolean[] repeated = s.getRepeats();
            int keep = Math.min(window.length, readings);
            s.values = new double[readings];
            s.repeats = new boolean[readings];
            System.arraycopy(window, window.length - keep, s.values, 0, keep);
            System.arraycopy(repeated, window.length - keep, s.repeats, 0, keep);
            s.size = keep;
            s.next = keep % readings;
        }
        // A repeat of its own last possible reading (Reading.repeat also counts impossible ones).
        s.repeats[s.next] = s.size > 0 && r.value() == s.values[at(s, s.size - 1)];
        s.values[s.next] = r.value();
        s.next = (s.next + 1) % readings;
        s.size = Math.min(readings, s.size + 1);
        s.seen++;
        double spread = spread(s);
        if (Double.isNaN(spread) || spread == 0) return; // not judged, nor learned from
        if (s.seen >= warmup && s.usual > 0 && spread < ratio * s.usual) {
            if (enabled && !s.flat) out.find(name(), "flat", s.usual / spread);
            s.flat = true;
            return; // a flat window is not the sensor's usual
        }
        if (s.flat && spread < s.usual / 2) return; // not back yet
        s.flat = false;
        s.usual = s.usual == 0 ? spread : s.usual + alpha * (spread - s.usual);
    }
}
