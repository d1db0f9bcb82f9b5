package iot.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** zscore and level_shift reading by reading (threshold 4; history 30 from 10, min_sigma 0.5,
 * level shifts after 10 readings: conf/job.toml). */
class ZScoreRuleTest {
    static final double[] NORMAL = {60.0, 61.5, 59.0, 62.0, 60.5, 58.5, 61.0, 60.0, 59.5, 62.5};
    static final double[] STEADY = {60.0, 61.0, 60.5, 59.5, 60.0, 61.0, 60.5, 59.5, 60.0, 61.0};

    static double mean(double[] v) {
        return Arrays.stream(v).average().orElseThrow();
    }

    static double pstdev(double[] v) {
        double m = mean(v);
        return Math.sqrt(Arrays.stream(v).map(x -> (x - m) * (x - m)).sum() / v.length);
    }

    static List<String> detectors(List<Feed.Found> found) {
        return found.stream().map(Feed.Found::detector).toList();
    }

    @Test
    void flagsASpikeAgainstTheLastReadingsAndKeepsItOutOfTheHistory() {
        Feed f = Feed.standard();
        assertEquals(List.of(), f.feed(0, 1, NORMAL)); // min_history = 10
        List<Feed.Found> found = f.feed(10, 1, 75.0);
        assertEquals(List.of("zscore"), detectors(found));
        assertEquals("high", found.get(0).reason());
        assertEquals((75.0 - mean(NORMAL)) / pstdev(NORMAL), found.get(0).score(), 1e-9);
        assertArrayEquals(NORMAL, f.history());
        assertEquals("low", f.feed(11, 1, 45.0).get(0).reason()); // judged by the same history
    }

    @Test
    void waitsForMinHistoryAndKeepsOnlyTheLastN() {
        Feed f = Feed.standard();
        double[] values = new double[41];
        values[0] = 60.0;
        for (int i = 0; i < 40; i++) values[i + 1] = 60.0 + (i % 7) * 0.3;
        assertEquals(List.of(), f.feed(0, 1, values));
        assertArrayEquals(Arrays.copyOfRange(values, 11, 41), f.history());
    }

    @Test
    void minSigmaKeepsASteadySensorFromFlaggingNoise() {
        Feed f = Feed.standard();
        double[] values = new double[10];
        for (int i = 0; i < 10; i++) values[i] = 60.0 + 0.1 * (i % 2); // sd 0.05
        f.feed(0, 1, values);
        assertEquals(List.of(), f.feed(10, 1, 61.5)); // 1.45 °F off: under 4 * min_sigma
        assertEquals(List.of("zscore"), detectors(f.feed(11, 1, 62.5)));
    }

    @Test
    void aShorterHistorySettingAppliesToASavedModel() {
        Feed f = Feed.standard();
        double[] values = new double[30];
        for (int i = 0; i < 30; i++) values[i] = 60.0 + (i % 7) * 0.3;
        f.feed(0, 1, values);
        assertEquals(30, f.history().length);
        StoredSensor saved = new StoredSensor(f.sensor, f.rules);
        Feed shorter = Feed.standard("zscore.history=20");
        shorter.sensor = saved.load(shorter.rules);
        assertEquals(List.of(), shorter.feed(100, 1, 61.1));
        assertEquals(20, shorter.history().length);
        assertEquals(61.1, shorter.history()[19]);
    }

    @Test
    void aNewLevelIsReportedOnceAtItsFirstReadingAndZscoreLearnsIt() {
        Feed f = Feed.standard();
        f.feed(0, 1, STEADY);
        double[] moved = {80.0, 80.5, 79.5, 80.0, 81.0, 80.0, 79.5, 80.5, 80.0, 80.5};
        List<Feed.Found> found = f.feed(10, 1, moved);
        double size = mean(moved) - mean(STEADY);
        assertEquals(List.of(new Feed.Found("zscore", "CA", 10, 80.0, "high", found.get(0).score()),
                             new Feed.Found("level_shift", "CA", 10, 80.0, "up", found.get(1).score())), found);
        assertEquals(size, found.get(1).score(), 1e-9);
        double[] shifted = Arrays.stream(STEADY).map(v -> v + size).toArray();
        assertArrayEquals(shifted, f.history(), 1e-9); // moved by the size, its spread kept
        double[] level = new double[60];
        for (int i = 0; i < 60; i++) level[i] = new double[] {80.3, 79.8, 80.9}[i % 3];
        assertEquals(List.of(), f.feed(20, 1, level));
        List<Feed.Found> spike = f.feed(80, 1, 95.0);
        assertEquals(List.of("zscore"), detectors(spike));
        assertEquals("high", spike.get(0).reason());
    }

    @Test
    void aShortExcursionIsOneZscoreFindingAndNoShift() {
        Feed f = Feed.standard();
        f.feed(0, 1, STEADY);
        List<Feed.Found> found = f.feed(10, 1, 75.0, 76.0, 75.5, 60.5, 60.0);
        assertEquals(List.of("zscore"), detectors(found));
        assertEquals(10, found.get(0).at());
        double[] expected = Arrays.copyOf(STEADY, 12);
        expected[10] = 60.5;
        expected[11] = 60.0;
        assertArrayEquals(expected, f.history()); // the excursion stayed out of it
    }

    @Test
    void aReturnToTheLevelBeforeAShiftIsQuietAndRestoresItsHistory() {
        Feed f = Feed.standard();
        f.feed(0, 1, STEADY);
        double[] drift = new double[15]; // 20 °F down, shorter than 2 × history
        for (int i = 0; i < 15; i++) drift[i] = 40.0 + (i % 3) * 0.5;
        List<Feed.Found> found = f.feed(10, 1, drift);
        assertEquals(List.of("zscore", "level_shift"), detectors(found));
        assertEquals(List.of("low", "down"), found.stream().map(Feed.Found::reason).toList());
        assertTrue(found.stream().allMatch(x -> x.at() == 10));
        assertEquals(List.of(), f.feed(25, 1, 60.2, 60.8, 60.0)); // back: no finding
        assertArrayEquals(STEADY, Arrays.copyOf(f.history(), STEADY.length));
    }

    @Test
    void levelShiftDisabledStillLearnsTheNewLevelWithoutReportingIt() {
        Feed f = Feed.standard("level_shift.enabled=false");
        f.feed(0, 1, STEADY);
        double[] moved = new double[10];
        for (int i = 0; i < 10; i++) moved[i] = 80.0 + (i % 2) * 0.5;
        assertEquals(List.of("zscore"), detectors(f.feed(10, 1, moved)));
        assertEquals(List.of(), f.feed(20, 1, 80.2, 80.4));
    }

    @Test
    void anImpossibleValueIsScoredButNeverEntersTheHistory() {
        Feed f = Feed.standard();
        f.feed(0, 1, STEADY);
        assertEquals(List.of("band", "zscore"), detectors(f.feed(10, 1, 500.0))); // the registry's order
        assertArrayEquals(STEADY, f.history());
    }
}
