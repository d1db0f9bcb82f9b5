package iot.engine;

import java.util.Arrays;
import java.util.List;

/**
 * zscore and level_shift, which share one history of the sensor's normal readings (a level shift
 * moves it). zscore: a reading more than {@code threshold} standard deviations (at least
 * {@code min_sigma}) from the mean of the sensor's last {@code history} normal readings, once it
 * has {@code min_history}; a run of readings on one side is reported once, at its first flagged
 * reading. level_shift: a reading more than RUN_SHARE of the threshold from the history starts or
 * continues a run on its side; {@code readings} such readings in a row are a new level, reported
 * at the first of them with its size (their mean less the history's). The history then moves by
 * the size, keeping its spread; the history before is kept for {@code 2 * history} readings: a
 * return to it within them was an excursion, and the old history comes back.
 */
public final class ZScoreRule implements Rule<ZScoreRule.State> {
    private static final long serialVersionUID = 1L;
    static final double RUN_SHARE = 0.5;
    // On arrival, the band of the history judged so far: its mean, and the mean less and plus
    // threshold × max(sd, min_sigma) (the readings table shows them).
    static final List<Column> COLUMNS = List.of(
            Column.of("zscore_mean", "double"), Column.of("zscore_low", "double"),
            Column.of("zscore_high", "double"));

    private final boolean zscore, levelShift;
    private final int history, minHistory, shiftReadings;
    private final double threshold, minSigma;

    /** A sensor's slice: its history, the current run, the history before the last shift. */
    public static final class State {
        double[] history = new double[0]; // the last normal readings, oldest first
        int historySize;
        // The current run: side (+1 above, -1 below, 0 none), its readings (when and what) and
        // whether zscore has reported it. Its readings that zscore does not flag enter the
        // history as they come: a move smaller than zscore's threshold is learnt without a
        // finding (holding them back until the run ends was tried: the history then stopped
        // following a sensor's slow wander, and such wanders became shifts).
        int runSide;
        double[] run = new double[0];
        long[] runTimes = new long[0];
        int runSize;
        boolean runReported;
        double[] before = new double[0];
        int probation; // for how many readings a return to `before` counts

        double[] history() {
            return Arrays.copyOf(history, historySize);
        }

        public double[] getHistory() { return history(); }
        public void setHistory(double[] v) { history = v; historySize = v.length; }
        public int getRunSide() { return runSide; }
        public void setRunSide(int v) { runSide = v; }
        public double[] getRun() { return Arrays.copyOf(run, runSize); }
        public void setRun(double[] v) { run = v; runSize = v.length; }
        public long[] getRunTimes() { return Arrays.copyOf(runTimes, runSize); }
        public void setRunTimes(long[] v) { runTimes = v; }
        public boolean isRunReported() { return runReported; }
        public void setRunReported(boolean v) { runReported = v; }
        public double[] getBefore() { return before; }
        public void setBefore(double[] v) { before = v; }
        public int getProbation() { return probation; }
        public void setProbation(int v) { probation = v; }
    }

    ZScoreRule(Settings settings) {
        Settings z = settings.detector("zscore");
        Settings shift = settings.detector("level_shift");
        zscore = z.flag("enabled", true);
        minHistory = z.count("min_history", 10, 2);
        history = z.count("history", 30, minHistory);
        threshold = z.number("threshold", 7.0, t -> t > 0, "> 0");
        minSigma = z.number("min_sigma", 0.5, m -> m > 0, "> 0");
        levelShift = shift.flag("enabled", true);
        shiftReadings = shift.count("readings", 10, 2);
    }

    @Override public String name() { return "zscore"; }
    @Override public List<Column> columns() { return COLUMNS; }
    @Override public State fresh() { return new State(); }

    /** A reading held for the rules: the band of the history judged so far (its mean and
     * max(sd, min_sigma)), once there is one to score by. */
    @Override
    public void annotate(State s, double value, Findings out) {
        if ((zscore || levelShift) && s.historySize >= minHistory) {
            double[] against = new double[2];
            score(s.history, s.historySize, value, against);
            out.set("zscore_mean", against[0]);
            out.set("zscore_low", against[0] - threshold * against[1]);
            out.set("zscore_high", against[0] + threshold * against[1]);
        }
    }

    /**
     * A reading that is possible at all ({@code plausible}) is scored; an impossible one is scored
     * too, but never enters the history and neither starts, continues nor ends a run. A reading
     * outside its state's band may: the history is the sensor's own level.
     */
    @Override
    public void observe(State s, Reading r, Findings out) {
        double value = r.value();
        boolean scored = (zscore || levelShift) && s.historySize >= minHistory;
        double[] against = {Double.NaN, Double.NaN}; // mean, sigma
        double z = scored ? score(s.history, s.historySize, value, against) : 0;
        double runLimit = threshold * RUN_SHARE;
        if (s.probation > 0) {
            s.probation--;
            if (scored && r.plausible() && Math.abs(z) > runLimit) {
                // Back at the level before (nearer to it than to the new one, and a reading the
                // old history would not flag): the shift was an excursion.
                double back = score(s.before, s.before.length, value, new double[2]);
                if (Math.abs(back) <= threshold && Math.abs(value - mean(s.before, s.before.length))
                        < Math.abs(value - mean(s.history, s.historySize))) {
                    s.history = s.before;
                    s.historySize = s.before.length;
                    s.probation = 0;
                    clearRun(s);
                    z = score(s.history, s.historySize, value, against); // = back
                }
            }
            if (s.probation == 0) s.before = new double[0];
        }
        boolean flagged = scored && Math.abs(z) > threshold;
        int side = scored && r.plausible() && Math.abs(z) > runLimit ? (z > 0 ? 1 : -1) : 0;
        boolean report = flagged;
        if (side != 0) {
            if (side != s.runSide) {
                clearRun(s);
                s.runSide = side;
            }
            addToRun(s, r.when(), value);
            report = flagged && !s.runReported;
            s.runReported |= flagged;
        } else if (r.plausible()) {
            clearRun(s);
        }
        if (!flagged && !r.repeat() && r.plausible()) addToHistory(s, value);
        if (report && zscore) {
            out.find(name(), z > 0 ? "high" : "low", Math.abs(z));
        }
        if (s.runSize >= shiftReadings) {
            double size = mean(s.run, s.runSize) - mean(s.history, s.historySize);
            if (levelShift) {
                out.findAt("level_shift", r.state(), s.runTimes[0], s.run[0], size > 0 ? "up" : "down",
                           Math.abs(size));
            }
            // The history moves to the new level and keeps its spread: a few readings of the new
            // level alone would understate how much the sensor varies.
            s.before = Arrays.copyOf(s.history, s.historySize);
            s.probation = 2 * history;
            for (int i = 0; i < s.historySize; i++) s.history[i] += size;
            clearRun(s);
        }
    }

    private static double mean(double[] values, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += values[i];
        return sum / n;
    }

    /** The reading's z against {@code n} values: (value - mean) / max(sd, minSigma); puts the
     * mean and max(sd, minSigma) in {@code against}. */
    private double score(double[] values, int n, double value, double[] against) {
        double m = mean(values, n);
        double squares = 0;
        for (int i = 0; i < n; i++) squares += (values[i] - m) * (values[i] - m);
        double sigma = Math.max(Math.sqrt(squares / n), minSigma);
        against[0] = m;
        against[1] = sigma;
        return (value - m) / sigma;
    }

    private void addToHistory(State s, double value) {
        if (s.historySize >= history) { // keep the last history - 1, then add this one
            int drop = s.historySize - history + 1;
            System.arraycopy(s.history, drop, s.history, 0, s.historySize - drop);
            s.historySize -= drop;
        }
        if (s.history.length < history) s.history = Arrays.copyOf(s.history, history);
        s.history[s.historySize++] = value;
    }

    private static void addToRun(State s, long when, double value) {
        if (s.run.length == s.runSize) {
            s.run = Arrays.copyOf(s.run, s.runSize * 2 + 2);
            s.runTimes = Arrays.copyOf(s.runTimes, s.run.length);
        }
        s.run[s.runSize] = value;
        s.runTimes[s.runSize++] = when;
    }

    private static void clearRun(State s) {
        s.runSide = 0;
        s.runSize = 0;
        s.run = new double[0];
        s.runTimes = new long[0];
        s.runReported = false;
    }
}
