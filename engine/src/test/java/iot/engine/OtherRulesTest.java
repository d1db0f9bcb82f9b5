package iot.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** stuck (repeats 10), silent (after 120 s), TTL 600 s and band's runs (10 readings back in
 * band end one) reading by reading; disabled rules find nothing. Settings: Feed.standard(). */
class OtherRulesTest {
    @Test
    void stuckIsReportedOnceAtTheKthIdenticalValue() {
        Feed f = Feed.standard();
        double[] values = new double[17];
        values[0] = 58.0;
        values[1] = 59.0;
        for (int i = 2; i < 17; i++) values[i] = 64.2;
        List<Feed.Found> stuck = f.feed(0, 1, values).stream().filter(x -> x.detector().equals("stuck")).toList();
        assertEquals(List.of(new Feed.Found("stuck", "CA", 11, 64.2, "stuck", 10.0)), stuck);
        double[] again = new double[11]; // a new run starts after a different value
        again[0] = 64.3;
        for (int i = 1; i < 11; i++) again[i] = 64.2;
        assertEquals(List.of("stuck"), ZScoreRuleTest.detectors(f.feed(17, 1, again)));
    }

    @Test
    void silentIsReportedWhenTheSensorComesBackAfterMoreThanT() {
        Feed f = Feed.standard();
        f.feed(0, 1, 60.0);
        assertEquals(List.of(), f.feed(120, 1, 60.5)); // exactly T (120 s): not more
        assertEquals(List.of(new Feed.Found("silent", "CA", 120, 60.5, "silent", 0)), f.feed(241, 1, 61.0));
    }

    @Test
    void silentIsReportedOnceByTheTimerAndTheModelForgottenAfterTheTtl() {
        Feed f = Feed.standard();
        f.feed(0, 1, 60.0, 61.0);
        assertEquals(1_000 + 120_000, f.sensor.dueMs(f.rules, f.ttlMicros()) - Feed.T0 / 1000);
        assertEquals(List.of(), f.expire(120)); // not yet: 1 + 120 s
        assertEquals(List.of(new Feed.Found("silent", "CA", 1, 61.0, "silent", 0)), f.expire(121));
        assertEquals(List.of(), f.expire(300)); // once
        assertEquals(1_000 + 600_000, f.sensor.dueMs(f.rules, f.ttlMicros()) - Feed.T0 / 1000); // the TTL
        f.expire(601);
        assertEquals(false, f.sensor.hasModel);
        assertEquals(List.of(), f.feed(700, 1, 61.0)); // back after the TTL: no silence again
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
    void disabledDetectorsFindNothing() {
        Feed f = Feed.standard("zscore.enabled=false", "stuck.enabled=false", "silent.enabled=false");
        double[] values = new double[21];
        for (int i = 0; i < 20; i++) values[i] = 60.0;
        values[20] = 500.0;
        assertEquals(List.of(), f.feed(0, 1, values).stream().filter(x -> !x.detector().equals("band")).toList());
        assertEquals(List.of(), f.observe("CA", 1000, 60.0, null));
    }
}
