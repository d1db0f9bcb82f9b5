package iot.engine;

import java.util.Arrays;

/**
 * One sensor's detector state, fed its on-time readings in event-time order by {@link #observe}.
 * The same rules as the job's documentation gives for zscore, stuck, silent and level_shift.
 * It also remembers the readings accepted in windows still open by the clock ({@link #seen}): a
 * re-send of one is a duplicate, whatever Kafka partition it comes from. Stored in Spark's state
 * store as bytes ({@link SensorCodec}): a sensor the job has forgotten (TTL) keeps an entry with
 * no model, so it is never counted as a new sensor twice.
 *
 * <p>Level shifts: a reading more than RUN_SHARE of zscore's threshold from the history starts or
 * continues a run on its side; {@code shiftReadings} such readings in a row are a new level,
 * reported at the first of them with its size (their mean less the history's). zscore reports a
 * run once, at its first flagged reading. The history then moves by the size, keeping its spread
 * (zscore judges by the new level at once); the history before is kept for {@code 2 * history}
 * readings: a return to it within them was an excursion, and the old history comes back.
 */
public final class SensorModel {
    static final long NONE = Long.MIN_VALUE;
    static final double RUN_SHARE = 0.5;
    static final int BAND_BACK = 10;

    boolean hasModel;
    double[] history = new double[0]; // the last normal readings, oldest first
    int historySize;
    double lastValue;
    int repeats;
    long lastTime = NONE; // epoch micros of the latest reading
    String state;
    boolean silentReported;
    long[] windows = new long[0]; // starts of the windows this sensor was counted in (restate horizon)
    long timer = NONE; // the one event-time timer registered for it (ms), if any
    // The readings accepted in windows still open (event time, value), and the latest such time.
    long[] seenTimes = new long[0];
    double[] seenValues = new double[0];
    int seenSize;
    long seenMax = NONE;
    // The current run: side (+1 above, -1 below, 0 none), its readings (when and what) and
    // whether zscore has reported it. Its readings that zscore does not flag enter the history
    // as they come: a move smaller than zscore's threshold is learnt without a finding (holding
    // them back until the run ends was tried: the history then stopped following a sensor's
    // slow wander, and such wanders became shifts).
    int runSide;
    double[] run = new double[0];
    long[] runTimes = new long[0];
    int runSize;
    boolean runReported;
    // The band rule's reason of the sensor's run out of band (null: none), and how many readings
    // in band have come since it: a reading out of band is band's finding when it starts a run
    // (the sensor was back in band for BAND_BACK readings, or out for another reason).
    String band;
    int inBand;
    // The history before the last level shift, and for how many readings a return to it counts.
    double[] before = new double[0];
    int probation;

    /** What one reading raised: zscore (reason, |z|), stuck (its run length), a silence, a
     * level shift (when and at what value its run began, and its size: new mean - old mean). */
    public static final class Finding {
        public String zReason;
        public double zScore;
        public boolean stuck;
        public double stuckScore;
        public boolean silent; // the sensor came back after more than the silence limit
        public long silentTime; // ... its last reading before: when, what, in which state
        public double silentValue;
        public String silentState;
        public boolean bandNew; // out of band, where the reading before was not (so reason)
        public boolean shift;
        public long shiftTime;
        public double shiftValue;
        public double shiftSize;
        // What the reading was scored against (zscore and level_shift): the sensor's history's
        // mean and standard deviation (at least minSigma); NaN when it had too short a history.
        public double mean = Double.NaN;
        public double sigma = Double.NaN;
    }

    /**
     * Takes one on-time reading that is no duplicate; returns what it raised. {@code plausible}:
     * a possible temperature at all (an impossible one is scored, but never enters the history
     * and neither starts, continues nor ends a run). A reading outside its state's band may: the
     * history is the sensor's own level, and a band would cut it off at one side.
     */
    public Finding observe(Rules r, String readingState, long when, double value,
                           boolean plausible) {
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
        boolean scored = (r.zscore() || r.levelShift()) && historySize >= r.minHistory();
        double z = scored ? scoreAgainst(f, history, historySize, value, r.minSigma()) : 0;
        double runLimit = r.threshold() * RUN_SHARE;
        if (probation > 0) {
            probation--;
            if (scored && plausible && Math.abs(z) > runLimit) {
                // Back at the level before (nearer to it than to the new one, and a reading the
                // old history would not flag): the shift was an excursion.
                double back = score(before, before.length, value, r.minSigma());
                if (Math.abs(back) <= r.threshold() && Math.abs(value - mean(before, before.length))
                        < Math.abs(value - mean(history, historySize))) {
                    history = before;
                    historySize = before.length;
                    probation = 0;
                    clearRun();
                    z = scoreAgainst(f, history, historySize, value, r.minSigma()); // = back
                }
            }
            if (probation == 0) before = new double[0];
        }
        boolean flagged = scored && Math.abs(z) > r.threshold();
        boolean inHistory = !flagged && !repeat && plausible;
        int side = scored && plausible && Math.abs(z) > runLimit ? (z > 0 ? 1 : -1) : 0;
        boolean report = flagged;
        if (side != 0) {
            if (side != runSide) {
                clearRun();
                runSide = side;
            }
            addToRun(when, value);
            report = flagged && !runReported;
            runReported |= flagged;
        } else if (plausible) {
            clearRun();
        }
        if (inHistory) addToHistory(r, value);
        if (report && r.zscore()) {
            f.zReason = z > 0 ? "high" : "low";
            f.zScore = Math.abs(z);
        }
        if (runSize >= r.shiftReadings()) {
            double size = mean(run, runSize) - mean(history, historySize);
            f.shift = r.levelShift();
            f.shiftTime = runTimes[0];
            f.shiftValue = run[0];
            f.shiftSize = size;
            // The history moves to the new level and keeps its spread: a few readings of the new
            // level alone would understate how much the sensor varies.
            before = Arrays.copyOf(history, historySize);
            probation = 2 * r.history();
            for (int i = 0; i < historySize; i++) history[i] += size;
            clearRun();
        }
        return f;
    }

    private static double mean(double[] values, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += values[i];
        return sum / n;
    }

    /** max(sd, minSigma) of {@code n} values whose mean is {@code mean}. */
    private static double sigma(double[] values, int n, double mean, double minSigma) {
        double squares = 0;
        for (int i = 0; i < n; i++) squares += (values[i] - mean) * (values[i] - mean);
        return Math.max(Math.sqrt(squares / n), minSigma);
    }

    /** The reading's z against {@code n} values: (value - mean) / max(sd, minSigma). */
    private static double score(double[] values, int n, double value, double minSigma) {
        double mean = mean(values, n);
        return (value - mean) / sigma(values, n, mean, minSigma);
    }

    /** As score, and records in {@code f} the mean and max(sd, minSigma) it scored against. */
    private static double scoreAgainst(Finding f, double[] values, int n, double value,
                                       double minSigma) {
        f.mean = mean(values, n);
        f.sigma = sigma(values, n, f.mean, minSigma);
        return (value - f.mean) / f.sigma;
    }

    private void addToHistory(Rules r, double value) {
        if (historySize >= r.history()) { // keep the last history - 1, then add this one
            int drop = historySize - r.history() + 1;
            System.arraycopy(history, drop, history, 0, historySize - drop);
            historySize -= drop;
        }
        if (history.length < r.history()) history = Arrays.copyOf(history, r.history());
        history[historySize++] = value;
    }

    private void addToRun(long when, double value) {
        if (run.length == runSize) {
            run = Arrays.copyOf(run, runSize * 2 + 2);
            runTimes = Arrays.copyOf(runTimes, run.length);
        }
        run[runSize] = value;
        runTimes[runSize++] = when;
    }

    private void clearRun() {
        runSide = 0;
        runSize = 0;
        run = new double[0];
        runTimes = new long[0];
        runReported = false;
    }

    /** Whether a reading with this band reason (null: in band) starts a run out of band. */
    boolean bandStarts(String reason) {
        if (reason == null) {
            if (band != null && ++inBand >= BAND_BACK) band = null;
            return false;
        }
        boolean starts = !reason.equals(band);
        band = reason;
        inBand = 0;
        return starts;
    }

    /** The readings the model judges by, oldest first. */
    public double[] history() {
        return Arrays.copyOf(history, historySize);
    }

    /** Where the reading accepted at {@code when} (event time) is among the seen ones, or -1. */
    int seen(long when) {
        if (seenMax == NONE || when > seenMax) return -1; // the usual case: a newer reading
        for (int i = seenSize - 1; i >= 0; i--) if (seenTimes[i] == when) return i;
        return -1;
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
    void closeWindows(Rules r, long clockMicros) {
        long windowMicros = r.windowMicros();
        int kept = 0;
        long horizon = clockMicros - r.restateMicros();
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

    /** Forgets the model (TTL): the sensor stays known, and so do the windows it was counted
     * in and the readings seen in them (a window longer than the TTL may still be open: it must
     * not count the sensor twice, nor take a re-send). */
    void forget() {
        hasModel = false;
        history = new double[0];
        historySize = 0;
        lastValue = 0;
        repeats = 0;
        lastTime = NONE;
        silentReported = false;
        clearRun();
        before = new double[0];
        probation = 0;
        band = null;
        inBand = 0;
    }

    /** When this sensor next needs looking at without a reading (ms of event time), or NONE. */
    long nextDeadlineMs(Rules r) {
        if (!hasModel || lastTime == NONE) return NONE;
        long due = lastTime + (r.silent() && !silentReported ? r.silentMicros() : r.ttlMicros());
        return Math.floorDiv(due + 999, 1000);
    }
}
