package iot.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One sensor's detector state, fed its on-time readings in event-time order by {@link #observe}.
 * The same rules as the job's documentation gives for zscore, stuck and silent. Stored in Spark's
 * state store as bytes ({@link #toBytes}): a sensor the job has forgotten (TTL) keeps an entry
 * with no model, so it is never counted as a new sensor twice.
 */
public final class SensorModel {
    static final long NONE = Long.MIN_VALUE;
    private static final byte FORMAT = 1;

    boolean hasModel;
    double[] history = new double[0]; // the last normal readings, oldest first
    int historySize;
    double lastValue;
    int repeats;
    long lastTime = NONE; // epoch micros of the latest reading
    String state;
    boolean silentReported;
    long[] windows = new long[0]; // starts of the open windows this sensor was counted in
    long timer = NONE; // the one event-time timer registered for it (ms), if any

    /** What one reading raised: zscore (reason, |z|), stuck (its run length), and a silence. */
    public static final class Finding {
        public String zReason;
        public double zScore;
        public boolean stuck;
        public double stuckScore;
        public boolean silent; // the sensor came back after more than the silence limit
        public long silentTime; // ... its last reading before: when, what, in which state
        public double silentValue;
        public String silentState;
    }

    /** Takes one on-time reading (normal: it may enter the history); returns what it raised. */
    public Finding observe(Rules r, String readingState, long when, double value, boolean normal) {
        Finding f = new Finding();
        hasModel = true;
        if (lastTime != NONE && when > lastTime && r.silent() && !silentReported
                && when - lastTime > r.silentMicros()) {
            f.silent = true;
            f.silentTime = lastTime;
            f.silentValue = lastValue;
            f.silentState = state;
        }
        if (lastTime == NONE || when > lastTime) {
            lastTime = when;
            silentReported = false;
        }
        state = readingState;
        boolean repeat = repeats > 0 && value == lastValue;
        repeats = repeat ? repeats + 1 : 1;
        lastValue = value;
        if (r.stuck() && repeats == r.repeats()) {
            f.stuck = true;
            f.stuckScore = repeats;
        }
        boolean flagged = false;
        if (r.zscore() && historySize >= r.minHistory()) {
            double sum = 0;
            for (int i = 0; i < historySize; i++) sum += history[i];
            double mean = sum / historySize;
            double squares = 0;
            for (int i = 0; i < historySize; i++) squares += (history[i] - mean) * (history[i] - mean);
            double z = (value - mean) / Math.max(Math.sqrt(squares / historySize), r.minSigma());
            if (Math.abs(z) > r.threshold()) {
                flagged = true;
                f.zReason = z > 0 ? "high" : "low";
                f.zScore = Math.abs(z);
            }
        }
        // Flagged readings, exact repeats and out-of-band values would bend the model.
        if (!flagged && !repeat && normal) {
            if (historySize >= r.history()) { // keep the last history - 1, then add this one
                int drop = historySize - r.history() + 1;
                System.arraycopy(history, drop, history, 0, historySize - drop);
                historySize -= drop;
            }
            if (history.length < r.history()) history = Arrays.copyOf(history, r.history());
            history[historySize++] = value;
        }
        return f;
    }

    /** The readings the model judges by, oldest first. */
    public double[] history() {
        return Arrays.copyOf(history, historySize);
    }

    /** Whether the window starting at {@code start} is new for this sensor (and records it). */
    boolean firstInWindow(long start) {
        for (long w : windows) if (w == start) return false;
        windows = Arrays.copyOf(windows, windows.length + 1);
        windows[windows.length - 1] = start;
        return true;
    }

    /** Drops the windows the watermark has closed. */
    void closeWindows(long windowMicros, long watermarkMicros) {
        int kept = 0;
        for (long w : windows) if (w + windowMicros > watermarkMicros) windows[kept++] = w;
        if (kept < windows.length) windows = Arrays.copyOf(windows, kept);
    }

    /** Forgets the model (TTL): the sensor stays known, and so do the windows it was counted
     * in (a window longer than the TTL may still be open: it must not count the sensor twice). */
    void forget() {
        hasModel = false;
        history = new double[0];
        historySize = 0;
        lastValue = 0;
        repeats = 0;
        lastTime = NONE;
        silentReported = false;
    }

    /** When this sensor next needs looking at without a reading (ms of event time), or NONE. */
    long nextDeadlineMs(Rules r) {
        if (!hasModel || lastTime == NONE) return NONE;
        long due = lastTime + (r.silent() && !silentReported ? r.silentMicros() : r.ttlMicros());
        return Math.floorDiv(due + 999, 1000);
    }

    byte[] toBytes() {
        byte[] name = state == null ? new byte[0] : state.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(64 + 8 * historySize + 8 * windows.length + name.length);
        b.put(FORMAT).put((byte) ((hasModel ? 1 : 0) | (silentReported ? 2 : 0) | (state == null ? 4 : 0)));
        b.putInt(historySize);
        for (int i = 0; i < historySize; i++) b.putDouble(history[i]);
        b.putDouble(lastValue).putInt(repeats).putLong(lastTime).putLong(timer);
        b.putInt(name.length).put(name);
        b.putInt(windows.length);
        for (long w : windows) b.putLong(w);
        return Arrays.copyOf(b.array(), b.position());
    }

    static SensorModel fromBytes(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (b.get() != FORMAT) throw new IllegalStateException("unknown sensor state format");
        SensorModel m = new SensorModel();
        byte flags = b.get();
        m.hasModel = (flags & 1) != 0;
        m.silentReported = (flags & 2) != 0;
        m.historySize = b.getInt();
        m.history = new double[m.historySize];
        for (int i = 0; i < m.historySize; i++) m.history[i] = b.getDouble();
        m.lastValue = b.getDouble();
        m.repeats = b.getInt();
        m.lastTime = b.getLong();
        m.timer = b.getLong();
        byte[] name = new byte[b.getInt()];
        b.get(name);
        m.state = (flags & 4) != 0 ? null : new String(name, StandardCharsets.UTF_8);
        m.windows = new long[b.getInt()];
        for (int i = 0; i < m.windows.length; i++) m.windows[i] = b.getLong();
        return m;
    }
}
