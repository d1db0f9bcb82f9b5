package iot.engine;

/** The sensor saved in resource sensor-format4.hex: what it was fed, so that a test can feed
 * today's rules the same and compare. */
final class Format4Sensor {
    private Format4Sensor() {}

    /** Every rule's settings as conf/job.toml's, rate_of_change on. */
    static Feed feed() {
        return Feed.standard("rate_of_change.enabled=true");
    }

    /** The i-th reading's time (s after T0): mostly 1 s apart, every 7th 3 s after the one before. */
    static double time(int i) {
        double t = 0;
        for (int k = 1; k <= i; k++) t += k % 7 == 0 ? 3 : 1;
        return t;
    }

    /** A noisy wave, every 50th reading a repeat of the one before. */
    static double value(int i) {
        if (i % 50 == 49) return value(i - 1);
        return Math.round((60 + 2 * Math.sin(i / 10.0) + ((i * 7919) % 13) / 10.0) * 100) / 100.0;
    }

    static final int READINGS = 400;

    /** Feeds {@code f} what the saved sensor had: READINGS readings observed, three out of band
     * (above_band) and back, two held, the window of the last remembered, a timer. */
    static void fill(Feed f) {
        for (int i = 0; i < READINGS; i++) f.observe("CA", time(i), value(i), null);
        double t = time(READINGS - 1);
        f.observe("CA", t + 1, 95.0, "above_band");
        f.observe("CA", t + 2, 96.0, "above_band");
        f.observe("CA", t + 3, 61.0, null);
        f.sensor.remember(Feed.at(t + 3), 61.0);
        f.sensor.firstInWindow(Math.floorDiv(Feed.at(t + 3), 60_000_000L) * 60_000_000L);
        f.sensor.timer = 4242;
        f.hold(t + 5, 61.5);
        f.sensor.hold(Feed.at(t + 4), 97.0, "NV", "above_band");
    }
}
