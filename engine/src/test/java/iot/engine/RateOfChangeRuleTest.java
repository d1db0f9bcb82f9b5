package iot.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** rate_of_change reading by reading (max_f_per_minute 10 over at least 60 s: conf/job.toml). */
class RateOfChangeRuleTest {
    /** A finding: the reading's time (seconds after T0) and its change per minute. */
    record Jump(double at, double perMinute) {}

    /** Readings {@code step} seconds apart from {@code start} → the jumps found. */
    static List<Jump> jumps(Feed f, double start, double step, double... values) {
        List<Jump> out = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            for (Feed.Found x : f.observe("CA", start + i * step, values[i], null)) {
                if (x.detector().equals("rate_of_change")) {
                    out.add(new Jump(x.at(), x.reason().equals("rise") ? x.score() : -x.score()));
                }
            }
        }
        return out;
    }

    @Test
    void aSpikeIsOneFindingAndTheReadingAfterItNone() {
        Feed f = Feed.standard("rate_of_change.enabled=true");
        assertEquals(List.of(), jumps(f, 0, 2, 60.0, 60.8, 59.9, 60.5));
        // 60.5 → 95.0 in 2 s, measured over 60 s: 34.5 °F per minute.
        assertEquals(List.of(new Jump(8, 34.5)), jumps(f, 8, 2, 95.0));
        assertEquals(List.of(), jumps(f, 10, 2, 60.1, 60.9));
        assertEquals(List.of(new Jump(14, 30.0 - 60.9)), jumps(f, 14, 2, 30.0));
    }

    @Test
    void aMoveForGoodIsReportedAtItsFirstReadingOnly() {
        Feed f = Feed.standard("rate_of_change.enabled=true");
        jumps(f, 0, 2, 60.0, 60.5);
        assertEquals(List.of(new Jump(4, 20.0)), jumps(f, 4, 2, 80.5, 81.0, 80.2, 80.9, 81.5));
    }

    @Test
    void aSecondJumpAwayFromTheFirstIsReportedToo() {
        Feed f = Feed.standard("rate_of_change.enabled=true");
        jumps(f, 0, 2, 60.0, 60.5);
        // 60.5 → 80.0 → 100.0: two jumps the same way, the second judged from the first.
        assertEquals(List.of(new Jump(4, 19.5), new Jump(6, 20.0)), jumps(f, 4, 2, 80.0, 100.0));
        assertEquals(List.of(), jumps(f, 8, 2, 100.4, 99.8)); // the sensor moved there
        Feed back = Feed.standard("rate_of_change.enabled=true");
        jumps(back, 0, 2, 60.0);
        // 60.0 → 95.0 → 20.0: up and then past where it started, both jumps.
        assertEquals(List.of(new Jump(2, 35.0), new Jump(4, -75.0)), jumps(back, 2, 2, 95.0, 20.0));
        assertEquals(List.of(), jumps(back, 6, 2, 60.3)); // back: a spike's end
    }

    @Test
    void aReturnToTheLevelLeftEndsAnExcursionQuietly() {
        Feed f = Feed.standard("rate_of_change.enabled=true");
        jumps(f, 0, 2, 60.0, 60.5);
        assertEquals(List.of(new Jump(4, 24.5)), jumps(f, 4, 2, 85.0, 85.5, 84.8, 85.2)); // a drift
        assertEquals(List.of(), jumps(f, 12, 2, 61.0, 60.2)); // back: no finding
        assertEquals(List.of(new Jump(16, 90.0 - 60.2)), jumps(f, 16, 2, 90.0)); // later jumps count
    }

    @Test
    void aChangeOverALongerTimeIsJudgedOverThatTimeAndSmallStepsNever() {
        Feed f = Feed.standard("rate_of_change.enabled=true");
        jumps(f, 0, 1, 60.0);
        assertEquals(List.of(), jumps(f, 180, 1, 85.0)); // 25 °F in 3 minutes: 8.3 per minute
        double[] walk = new double[200];
        for (int i = 0; i < 200; i++) walk[i] = 85.0 + Math.abs((i + 10) % 20 - 10); // ±1 °F a reading
        assertEquals(List.of(), jumps(f, 181, 0.01, walk)); // 100 readings a second
        assertEquals(List.of(new Jump(200, 11.0 - 86.0)), jumps(f, 200, 0.5, 11.0));
    }

    @Test
    void impossibleValuesAreTheBandRulesAndADisabledRuleFindsNothing() {
        Feed f = Feed.standard("rate_of_change.enabled=true");
        jumps(f, 0, 2, 60.0);
        assertEquals(List.of(), jumps(f, 2, 2, 500.0, 60.5));
        Feed off = Feed.standard("rate_of_change.enabled=false");
        assertEquals(List.of(), jumps(off, 0, 2, 60.0, 95.0, 60.0));
    }

    @Test
    void itsStateComesBackAsSavedAndASensorSavedBeforeItStartsFresh() {
        Feed f = Feed.standard("rate_of_change.enabled=true");
        jumps(f, 0, 2, 60.0, 95.0); // a jump, judged by the next reading
        f.sensor = StoredSensor.roundTrip(f.sensor, f.rules);
        assertEquals(List.of(), jumps(f, 4, 2, 60.3)); // a spike: the saved state said so
        List<Rule<?>> before = f.rules.stream().filter(r -> !r.name().equals("rate_of_change")).toList();
        Sensor saved = new StoredSensor(f.sensor, f.rules).load(before);
        Sensor loaded = new StoredSensor(saved, before).load(f.rules);
        RateOfChangeRule.State fresh = loaded.slice(RuleRegistry.indexOf(f.rules, "rate_of_change"));
        assertEquals(Sensor.NONE, fresh.time);
    }
}
