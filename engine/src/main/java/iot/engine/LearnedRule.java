package iot.engine;

/**
 * learned: a reading whose features score above the model's threshold (a run of such readings
 * is reported once, at its first). The features are jobs/iotstream/learned/features.py's, which
 * this computes the same way (tests/test_learned_stream.py holds them equal): exponentially
 * weighted means and variances of the sensor's possible readings over a fast and a slow span,
 * and its last value. The state is kept with or without a model, so a model that arrives later
 * scores warm sensors. The model is the one the driver chose for the batch ({@link LearnedModel}).
 */
public final class LearnedRule implements Rule<LearnedRule.State> {
    private static final long serialVersionUID = 1L;

    private final boolean enabled;
    private final int warmup;
    private final double fast, slow, minSigma;
    final String spec; // the features' settings, as an artifact must state them

    public static final class State {
        long n;
        double mean, var, slowMean, slowVar, last;
        boolean run; // the last scored reading was above the threshold

        public long getN() { return n; }
        public void setN(long v) { n = v; }
        public double getMean() { return mean; }
        public void setMean(double v) { mean = v; }
        public double getVar() { return var; }
        public void setVar(double v) { var = v; }
        public double getSlowMean() { return slowMean; }
        public void setSlowMean(double v) { slowMean = v; }
        public double getSlowVar() { return slowVar; }
        public void setSlowVar(double v) { slowVar = v; }
        public double getLast() { return last; }
        public void setLast(double v) { last = v; }
        public boolean isRun() { return run; }
        public void setRun(boolean v) { run = v; }
    }

    LearnedRule(Settings settings) {
        Settings s = settings.detector("learned");
        enabled = s.flag("enabled", true);
        s.text("model_dir", "models"); // the driver's (models.py): where it looks for artifacts
        int fastSpan = s.count("fast_span", 30, 1);
        int slowSpan = s.count("slow_span", 300, fastSpan);
        warmup = s.count("warmup", 10, 2);
        minSigma = s.number("min_sigma", 0.5, m -> m > 0, "> 0");
        fast = 2.0 / (fastSpan + 1);
        slow = 2.0 / (slowSpan + 1);
        spec = LearnedModel.spec(fastSpan, slowSpan, warmup, minSigma);
    }

    @Override public String name() { return "learned"; }
    @Override public State fresh() { return new State(); }

    /** The reading's features, before it joins the state (null while the sensor warms up). */
    double[] features(State s, double value) {
        if (s.n < warmup) return null;
        double spread = Math.max(Math.sqrt(s.var), minSigma);
        double slowSpread = Math.max(Math.sqrt(s.slowVar), minSigma);
        return new double[] {(value - s.mean) / spread, (value - s.last) / spread,
                             (value - s.slowMean) / slowSpread, Math.log(spread / slowSpread)};
    }

    void learn(State s, double value) {
        if (s.n == 0) {
            s.mean = value;
            s.slowMean = value;
        } else {
            double d = value - s.mean;
            double step = fast * d;
            s.mean += step;
            s.var = (1 - fast) * (s.var + d * step);
            d = value - s.slowMean;
            step = slow * d;
            s.slowMean += step;
            s.slowVar = (1 - slow) * (s.slowVar + d * step);
        }
        s.last = value;
        s.n++;
    }

    @Override
    public void observe(State s, Reading r, Findings out) {
        if (!enabled || !r.plausible()) return;
        double[] x = features(s, r.value());
        LearnedModel model = x == null ? null : LearnedModel.forTask(spec);
        if (model != null) {
            double score = model.score(x);
            boolean above = score > model.threshold;
            if (above && !s.run) out.find(name(), "outlier", score);
            s.run = above;
        }
        learn(s, r.value());
    }
}
