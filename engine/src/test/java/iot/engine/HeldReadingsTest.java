package iot.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Readings held for the rules and released by the rules' clock, in event-time order, whatever
 * order they came in; what a rule concludes from time (a silence) waits for that clock. */
class HeldReadingsTest {
    static final double[] SERIES = {60.0, 61.5, 59.0, 62.0, 60.5, 58.5, 61.0, 60.0, 59.5, 62.5,
                                    75.0, 60.0, 61.0, 61.0, 61.0, 45.0, 60.5, 61.5, 60.0, 59.0};

    @Test
    void readingsThatCameInAnyOrderReachTheRulesInEventTimeOrder() {
        Feed inOrder = Feed.standard();
        List<Feed.Found> expected = inOrder.feed(0, 1, SERIES);
        assertEquals(List.of("zscore", "zscore"), ZScoreRuleTest.detectors(expected)); // 75 and 45
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < SERIES.length; i++) order.add(i);
        Collections.shuffle(order, new Random(7));
        Feed shuffled = Feed.standard();
        for (int i : order) assertTrue(shuffled.hold(i, SERIES[i]));
        assertEquals(SERIES.length, shuffled.sensor.heldSize);
        assertEquals(expected, shuffled.release(SERIES.length - 1));
        assertEquals(0, shuffled.sensor.heldSize);
        assertEquals(inOrder.sensor.lastTime, shuffled.sensor.lastTime);
    }

    @Test
    void onlyTheReadingsUpToTheRulesClockAreReleased() {
        Feed f = Feed.standard();
        f.hold(30, 61.0);
        f.hold(10, 60.0);
        f.hold(20, 60.5);
        f.release(20); // up to and with 20 s
        assertEquals(Feed.at(20), f.sensor.lastTime);
        assertEquals(60.5, f.sensor.lastValue);
        assertEquals(1, f.sensor.heldSize);
        assertEquals(Feed.at(30), f.sensor.heldTimes[0]);
        // While it holds a reading, the sensor is looked at in the next batch whose watermark
        // moves: at the rules' clock of this batch, or past the watermark if that is later.
        assertEquals(Feed.at(20) / 1000, f.sensor.dueMs(f.rules, f.ttlMicros(), Feed.at(20), 0));
        assertEquals(Feed.at(25) / 1000 + 1,
                     f.sensor.dueMs(f.rules, f.ttlMicros(), Feed.at(20), Feed.at(25) / 1000));
    }

    @Test
    void aReadingBehindTheRulesClockOrBehindAJudgedOneIsNotJudged() {
        Feed f = Feed.standard();
        assertTrue(f.sensor.judgeable(Feed.at(10), Feed.at(10))); // at the clock: may still come
        assertFalse(f.sensor.judgeable(Feed.at(9), Feed.at(10)));
        f.hold(10, 60.0);
        f.release(12);
        assertFalse(f.sensor.judgeable(Feed.at(10), Feed.at(5))); // the rules judged 10 s already
        assertTrue(f.sensor.judgeable(Feed.at(11), Feed.at(5)));
    }

    @Test
    void aSilenceIsConcludedOnlyOnceTheRulesClockHasPassedIt() {
        Feed f = Feed.standard("silent.missed_readings=1"); // silent after 120 s, whatever the cadence
        for (int t = 0; t <= 30; t += 10) f.hold(t, 60.0 + t / 100.0); // its cadence: 3 intervals
        f.release(30);
        f.hold(100, 60.5); // not released yet: the clock is behind it
        assertEquals(List.of(), f.release(90)); // 60 s of nothing: not a silence (120 s)
        assertEquals(List.of(), f.release(130)); // the reading at 100 s comes first
        f.hold(400, 61.0);
        // The clock passes 220 s (100 s + 120): a silence, though a reading is held after it.
        assertEquals(List.of(new Feed.Found("silent", "CA", 100, 60.5, "silent", 120.0)), f.release(221));
        assertEquals(List.of(), f.release(400)); // it comes back: reported already
    }

    @Test
    void aSensorBackAfterTheTtlIsForgottenWhetherOrNotTheClockStoppedBetween() {
        // TTL 600 s. In one release: the reading at 700 s comes 697 s after the one before.
        Feed once = Feed.standard();
        for (int t = 0; t <= 3; t++) once.hold(t, 60.0 + t);
        once.hold(700, 75.0);
        List<Feed.Found> found = once.release(700);
        // In steps: the clock passes 603 s (3 s + the TTL) before the reading at 700 s comes.
        Feed steps = Feed.standard();
        for (int t = 0; t <= 3; t++) steps.hold(t, 60.0 + t);
        List<Feed.Found> stepwise = new ArrayList<>(steps.release(3));
        stepwise.addAll(steps.release(650));
        steps.hold(700, 75.0);
        stepwise.addAll(steps.release(700));
        assertEquals(List.of(new Feed.Found("silent", "CA", 3, 63.0, "silent", 120.0)), found);
        assertEquals(found, stepwise);
        assertEquals(1, once.zscore().historySize); // a fresh model: the reading at 700 s alone
        assertEquals(steps.zscore().historySize, once.zscore().historySize);
    }

    @Test
    void aHeldReadingIsBandedByTheHistoryJudgedSoFar() {
        Feed f = Feed.standard();
        f.feed(0, 1, ZScoreRuleTest.NORMAL); // ten readings: zscore scores from now on
        f.sensor.annotate(f.rules, 70.0, f);
        double mean = ZScoreRuleTest.mean(ZScoreRuleTest.NORMAL), sd = ZScoreRuleTest.pstdev(ZScoreRuleTest.NORMAL);
        assertEquals(mean, (Double) f.column("zscore_mean"), 1e-9);
        assertEquals(mean - 4 * sd, (Double) f.column("zscore_low"), 1e-9); // threshold 4 (Feed.standard)
        assertEquals(mean + 4 * sd, (Double) f.column("zscore_high"), 1e-9);
    }
}
