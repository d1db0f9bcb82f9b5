package iot.engine;

import java.util.Arrays;
import java.util.List;

/**
 * One sensor's state in the step: what every rule relies on (its latest reading judged, whether
 * it has a model at all, the windows it was counted in, the readings accepted in windows still
 * open, the readings held for the rules, its timer), and each rule's own slice, in the order of
 * the step's rules. A sensor the job has forgotten (TTL) keeps its entry with no model, so that it
 * is never counted as a new sensor twice. Spark stores the common state as a bean (the state
 * variable {@code core}: its properties below) and each rule's slice in a state variable of the
 * rule's own (SensorStore).
 *
 * <p>Readings reach the rules in event-time order, whatever order Kafka delivered them in: a
 * reading is held ({@link #hold}) until the rules' clock reaches it, then released to every rule
 * ({@link #release}), as Flink sorts a keyed stream by event time and releases it on the watermark.
 */
public final class Sensor {
    public static final long NONE = Long.MIN_VALUE;

    boolean hasModel;
    double lastValue;
    long lastTime = NONE; // µs of event time of the latest reading the rules judged
    String state;
    long[] windows = new long[0]; // starts of the windows it was counted in (restate horizon)
    long timer = NONE; // the one event-time timer registered for it (ms), if any
    // The readings accepted in windows still open (event time, value), and the latest such time.
    long[] seenTimes = new long[0];
    double[] seenValues = new double[0];
    int seenSize;
    long seenMax = NONE;
    // The readings held for the rules, oldest first: event time, value, state, band reason.
    long[] heldTimes = new long[0];
    double[] heldValues = new double[0];
    String[] heldStates = new String[0];
    String[] heldReasons = new String[0];
    int heldSize;
    Object[] slices; // each rule's, in the order of the step's rules

    /** A sensor whose slices the step sets once its core is read back from the store. */
    public Sensor() {
        slices = new Object[0];
    }

    Sensor(List<Rule<?>> rules) {
        slices = new Object[rules.size()];
        for (int i = 0; i < slices.length; i++) slices[i] = rules.get(i).fresh();
    }

    // The stored properties (arrays as long as they are used).
    public boolean isHasModel() { return hasModel; }
    public void setHasModel(boolean v) { hasModel = v; }
    public double getLastValue() { return lastValue; }
    public void setLastValue(double v) { lastValue = v; }
    public long getLastTime() { return lastTime; }
    public void setLastTime(long v) { lastTime = v; }
    public String getState() { return state; }
    public void setState(String v) { state = v; }
    public long[] getWindows() { return windows; }
    public void setWindows(long[] v) { windows = v; }
    public long getTimer() { return timer; }
    public void setTimer(long v) { timer = v; }
    public long[] getSeenTimes() { return Arrays.copyOf(seenTimes, seenSize); }
    public void setSeenTimes(long[] v) { seenTimes = v; seenSize = v.length; }
    public double[] getSeenValues() { return Arrays.copyOf(seenValues, seenSize); }
    public void setSeenValues(double[] v) { seenValues = v; }
    public long getSeenMax() { return seenMax; }
    public void setSeenMax(long v) { seenMax = v; }
    public long[] getHeldTimes() { return Arrays.copyOf(heldTimes, heldSize); }
    public void setHeldTimes(long[] v) { heldTimes = v; heldSize = v.length; }
    public double[] getHeldValues() { return Arrays.copyOf(heldValues, heldSize); }
    public void setHeldValues(double[] v) { heldValues = v; }
    public String[] getHeldStates() { return Arrays.copyOf(heldStates, heldSize); }
    public void setHeldStates(String[] v) { heldStates = v; }
    public String[] getHeldReasons() { return Arrays.copyOf(heldReasons, heldSize); }
    public void setHeldReasons(String[] v) { heldReasons = v; }

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

    /** Holds a reading for the rules until their clock reaches it (after any held reading of the
     * same time or earlier). */
    void hold(long when, double value, String readingState, String reason) {
        if (heldTimes.length == heldSize) {
            int size = heldSize * 2 + 4;
            heldTimes = Arrays.copyOf(heldTimes, size);
            heldValues = Arrays.copyOf(heldValues, size);
            heldStates = Arrays.copyOf(heldStates, size);
            heldReasons = Arrays.copyOf(heldReasons, size);
        }
        int at = heldSize;
        while (at > 0 && heldTimes[at - 1] > when) at--;
        int after = heldSize - at;
        System.arraycopy(heldTimes, at, heldTimes, at + 1, after);
        System.arraycopy(heldValues, at, heldValues, at + 1, after);
        System.arraycopy(heldStates, at, heldStates, at + 1, after);
        System.arraycopy(heldReasons, at, heldReasons, at + 1, after);
        heldTimes[at] = when;
        heldValues[at] = value;
        heldStates[at] = readingState;
        heldReasons[at] = reason;
        heldSize++;
    }

    /** Whether a reading at {@code when} can still be judged in order: it is not behind the
     * rules' clock, nor behind a reading the rules judged already. */
    boolean judgeable(long when, long judgedUntil) {
        return (judgedUntil == NONE || when >= judgedUntil) && (lastTime == NONE || when > lastTime);
    }

    /**
     * The rules' clock is at {@code judgedUntil} (µs): the held readings up to it go to every rule,
     * oldest first; then the rules conclude what the time since the last of them says (a
     * silence); a sensor whose last reading is the TTL behind is forgotten. A reading that comes
     * the TTL or more after the one before it finds the sensor forgotten (and its silence
     * concluded) whether or not the clock stopped in between: the same in one batch as in many.
     */
    void release(List<Rule<?>> rules, long judgedUntil, long ttlMicros, Findings.Judgements out) {
        int released = 0;
        while (released < heldSize && heldTimes[released] <= judgedUntil) {
            if (hasModel && lastTime != NONE && heldTimes[released] - lastTime >= ttlMicros) {
                expireAll(rules, lastTime + ttlMicros, out);
                forget(rules);
            }
            String reason = heldReasons[released];
            out.judging(heldStates[released], heldTimes[released], heldValues[released], reason);
            observe(rules, heldStates[released], heldTimes[released], heldValues[released], reason, out);
            released++;
        }
        if (released > 0) {
            int left = heldSize - released;
            System.arraycopy(heldTimes, released, heldTimes, 0, left);
            System.arraycopy(heldValues, released, heldValues, 0, left);
            System.arraycopy(heldStates, released, heldStates, 0, left);
            System.arraycopy(heldReasons, released, heldReasons, 0, left);
            Arrays.fill(heldStates, left, heldSize, null);
            Arrays.fill(heldReasons, left, heldSize, null);
            heldSize = left;
        }
        if (hasModel && lastTime != NONE) {
            expireAll(rules, judgedUntil, out);
            if (lastTime + ttlMicros <= judgedUntil) forget(rules);
        }
    }

    private void expireAll(List<Rule<?>> rules, long judgedUntil, Findings out) {
        for (int i = 0; i < slices.length; i++) expire(rules.get(i), i, judgedUntil, out);
    }

    /** Feeds one reading to every rule, in order (the rules' clock has reached it). */
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

    private <S> void expire(Rule<S> rule, int index, long judgedUntil, Findings out) {
        rule.expire(this.<S>slice(index), this, judgedUntil, out);
    }

    /** Each rule's columns for a reading held on arrival ({@link Rule#annotate}). */
    void annotate(List<Rule<?>> rules, double value, Findings out) {
        for (int i = 0; i < slices.length; i++) annotate(rules.get(i), i, value, out);
    }

    private <S> void annotate(Rule<S> rule, int index, double value, Findings out) {
        rule.annotate(this.<S>slice(index), value, out);
    }

    /**
     * When the step must look at this sensor next without a reading (ms of event time; the timer
     * fires once Spark's watermark, the rules' clock one batch behind, reaches it), or NONE.
     * With readings held: at the next batch whose watermark moves past {@code watermarkMs}, which
     * is the rules' clock {@code judgedUntil} of this batch (they may be released then).
     * Otherwise at the earliest of the rules' deadlines and the TTL.
     */
    long dueMs(List<Rule<?>> rules, long ttlMicros, long judgedUntil, long watermarkMs) {
        if (heldSize > 0) {
            long until = judgedUntil == NONE ? NONE : Math.floorDiv(judgedUntil, 1000);
            return Math.max(until, watermarkMs + 1);
        }
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
