package iot.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** stuck (repeats 10, chance 1e-15), silent (after 120 s, 10 missed readings), TTL 600 s and
 * band's runs (10 readings back in band end one), reading by reading; disabled rules find
 * nothing. Settings: Feed.standard(). */
class OtherRulesTest {
    /** {@code n} readings 1 s apart from {@code start} that never repeat (a sensor in moving air). */
    static double[] changing(int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = 60.0 + (i % 7) * 0.1 + (i % 2) * 0.05;
        return v;
    }

    static List<Feed.Found> only(String detector, List<Feed.Found> found) {
        return found.stream().filter(x -> x.detector().equals(detector)).toList();
    }

    @Test
    void stuckComesAfterTenEqualReadingsForASensorThatSeldomRepeats() {
        Feed f = Feed.standard();
        f.feed(0, 1, changing(201));
        // 200 changes, none a repeat: the rate's bound is (z²/n) / (1 + z²/n) = 0.01335 (z 1.645);
        // 1 + ceil(ln 1e-15 / ln 0.01335) = 10, the minimum.
        assertEquals(0.013349, StuckRule.repeatRate(f.slice("stuck")), 1e-6);
        double[] run = new double[15];
        java.util.Arrays.fill(run, 64.2);
        List<Feed.Found> stuck = only("stuck", f.feed(201, 1, run));
        assertEquals(List.of(new Feed.Found("stuck", "CA", 210, 64.2, "stuck", 10.0)), stuck);
        // The reported run stays out of the sensor's rate: a new run is judged the same way.
        f.feed(216, 1, 64.3);
        assertEquals(10, only("stuck", f.feed(217, 1, run)).get(0).score());
    }

    @Test
    void aSensorThatRepeatsHalfItsReadingsIsStuckOnlyAfterSixty() {
        Feed f = Feed.standard();
        double[] pairs = new double[201]; // 60.0 60.0 60.1 60.1 ...: every other change a repeat
        for (int i = 0; i < pairs.length; i++) pairs[i] = 60.0 + (i / 2 % 5) * 0.1;
        f.feed(0, 60, pairs);
        // 100 repeats in 200 changes: Wilson's bound 0.5578 (z 1.645), ln 1e-15 / ln 0.5578 = 59.2.
        assertEquals(0.5578, StuckRule.repeatRate(f.slice("stuck")), 1e-4);
        // The first 61.0 ends a run of one 60.0 (a change), which pushes out the oldest of the 200
        // changes, a repeat: 99 in 200, bound 0.5528; 1 + ceil(ln 1e-15 / ln 0.5528) = 60.
        double[] run = new double[70];
        java.util.Arrays.fill(run, 61.0);
        List<Feed.Found> stuck = only("stuck", f.feed(201 * 60, 60, run));
        assertEquals(0.5528, StuckRule.repeatRate(f.slice("stuck")), 1e-4);
        assertEquals(List.of(new Feed.Found("stuck", "CA", (201 + 59) * 60, 61.0, "stuck", 60.0)), stuck);
    }

    @Test
    void aSensorWithNoHistoryNeedsALongRun() {
        Feed f = Feed.standard();
        double[] run = new double[700];
        java.util.Arrays.fill(run, 61.0);
        // Taken to repeat at 0.95: 1 + ceil(ln 1e-15 / ln 0.95) = 675 readings.
        assertEquals(List.of(new Feed.Found("stuck", "CA", 674, 61.0, "stuck", 675.0)),
                     only("stuck", f.feed(0, 1, run)));
    }

    @Test
    void silenceIsJudgedByTheSensorsOwnCadence() {
        Feed f = Feed.standard("sensor_ttl_seconds=3600");
        f.feed(0, 60, changing(10)); // every minute: 10 missed readings are 600 s
        assertEquals(List.of(), f.feed(540 + 600, 1, 60.5)); // exactly 600 s: not more
        assertEquals(List.of(new Feed.Found("silent", "CA", 1140, 60.5, "silent", 600.0)),
                     f.feed(1140 + 600.5, 1, 61.0));
        Feed fast = Feed.standard(); // every second: after_seconds, 120 s, is the floor
        fast.feed(0, 1, changing(20));
        assertEquals(List.of(new Feed.Found("silent", "CA", 19, 60.55, "silent", 120.0)),
                     fast.feed(19 + 121, 1, 61.0));
    }

    @Test
    void silentIsReportedOnceByTheRulesClockAndTheModelForgottenAfterTheTtl() {
        Feed f = Feed.standard();
        f.feed(0, 1, 60.0, 61.0, 60.5, 61.5); // 3 intervals of 1 s: after_seconds, 120 s
        long due = f.sensor.dueMs(f.rules, f.ttlMicros(), Sensor.NONE, 0) - Feed.T0 / 1000;
        assertEquals(3_000 + 120_000 + 1, due); // more than 120 s after the last reading (3 s)
        assertEquals(List.of(), f.expire(123)); // not yet: 120 s after it
        assertEquals(List.of(new Feed.Found("silent", "CA", 3, 61.5, "silent", 120.0)), f.expire(123.001));
        assertEquals(List.of(), f.expire(300)); // once
        assertEquals(3_000 + 600_000, f.sensor.dueMs(f.rules, f.ttlMicros(), Sensor.NONE, 0) - Feed.T0 / 1000);
        f.expire(603);
        assertEquals(false, f.sensor.hasModel);
        assertEquals(List.of(), f.feed(700, 1, 61.0)); // back after the TTL: no silence again
    }

    @Test
    void aSensorWhoseCadenceIsNotKnownYetIsSilentOnlyAtTheTtl() {
        Feed f = Feed.standard(); // TTL 600 s
        f.feed(0, 1, 60.0, 61.0); // one interval: fewer than 3
        assertEquals(List.of(), f.expire(500));
        assertEquals(List.of(new Feed.Found("silent", "CA", 1, 61.0, "silent", 599.999999)), f.expire(601));
    }

    @Test
    void anIrregularSensorIsJudgedByItsLongerGaps() {
        Feed f = Feed.standard("sensor_ttl_seconds=3600");
        double[] at = new double[17]; // 14 intervals of 1 s, then 2 of 20 s
        for (int i = 1; i < 17; i++) at[i] = at[i - 1] + (i > 14 ? 20 : 1);
        for (double t : at) f.observe("CA", t, 60.0 + t % 7 * 0.1, null);
        // The 90th percentile of the 16 (nearest rank: the 15th of them sorted) is 20 s: 200 s.
        assertEquals(List.of(), f.expire(at[16] + 200));
        assertEquals(List.of(new Feed.Found("silent", "CA", at[16], 60.0 + at[16] % 7 * 0.1, "silent", 200.0)),
                     f.expire(at[16] + 200.001));
    }

    @Test
    void aSilenceLongerThanTheTtlIsReportedJustBeforeIt() {
        Feed f = Feed.standard(); // TTL 600 s; every 5 minutes: 10 missed readings are 3000 s
        f.feed(0, 300, changing(5));
        List<Feed.Found> found = f.expire(1200 + 600);
        assertEquals(List.of(new Feed.Found("silent", "CA", 1200, 60.4, "silent", 599.999999)), found);
        assertEquals(false, f.sensor.hasModel);
    }

    @Test
    void aRunOutOfBandIsReportedAtItsStartAndEndsAfterTenReadingsInBand() {
        Feed f = Feed.standard();
        assertEquals(List.of("band"), ZScoreRuleTest.detectors(f.observe("CA", 0, 90.0, "above_band")));
        assertEquals(List.of(), f.observe("CA", 1, 91.0, "above_band"));
        for (int i = 0; i < 9; i++) f.observe("CA", 2 + i, 60.0, null);
        assertEquals(List.of(), f.observe("CA", 11, 90.0, "above_band")); // 9 in band: the same run
        assertEquals(List.of("band"), ZScoreRuleTest.detectors(f.observe("CA", 12, 30.0, "below_band")));
        for (int i = 0; i < 10; i++) f.observe("CA", 13 + i, 60.0, null);
        assertEquals(List.of("band"), ZScoreRuleTest.detectors(f.observe("CA", 23, 30.0, "below_band")));
    }

    @Test
    void aFindingOfBandIsScoredByHowFarOutsideItsStatesBandItIs() {
        Feed f = Feed.standard(); // CA's band: 50..80 °F (Feed.settings)
        assertEquals(List.of(new Feed.Found("band", "CA", 0, 90.5, "above_band", 10.5)),
                     f.observe("CA", 0, 90.5, "above_band"));
        assertEquals(List.of(new Feed.Found("band", "CA", 2, 42.0, "below_band", 8.0)),
                     f.observe("CA", 2, 42.0, "below_band"));
        assertEquals(List.of(new Feed.Found("band", "TX", 1, 40.0, "below_band", 40.0)), // no band: |t|
                     Feed.standard().observe("TX", 1, 40.0, "below_band"));
        // A reading kept out of the rules (late) is judged alone, whatever the sensor's run.
        BandRule band = (BandRule) f.rules.get(0);
        List<String> alone = new ArrayList<>();
        Findings out = new Findings() {
            public void find(String detector, String reason, double score) { alone.add(detector + " " + reason + " " + score); }
            public void findAt(String d, String s, long w, double v, String r, double sc) { alone.add("at"); }
            public void set(String column, Object value) {}
        };
        band.aside(new Reading("CA", Feed.at(3), 85.0, "above_band", true, false, Sensor.NONE, 0, null), out);
        band.aside(new Reading("CA", Feed.at(4), 60.0, null, true, false, Sensor.NONE, 0, null), out);
        assertEquals(List.of("band above_band 5.0"), alone);
        BandRule off = (BandRule) Feed.standard("band.enabled=false").rules.get(0);
        off.aside(new Reading("CA", Feed.at(3), 85.0, "above_band", true, false, Sensor.NONE, 0, null), out);
        assertEquals(1, alone.size());
        assertEquals(List.of(), Feed.standard("band.enabled=false").observe("CA", 0, 90.5, "above_band"));
    }

    @Test
    void disabledDetectorsFindNothing() {
        Feed f = Feed.standard("zscore.enabled=false", "stuck.enabled=false", "silent.enabled=false");
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < 700; i++) values.add(60.0);
        values.add(500.0);
        double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
        assertEquals(List.of(), f.feed(0, 1, v).stream().filter(x -> !x.detector().equals("band")).toList());
        assertEquals(List.of(), f.observe("CA", 2000, 60.0, null));
    }
}
