package iot.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** flatline on hand-made series: a noisy sensor whose spread collapses, by its own usual one. */
class FlatlineRuleTest {
    /** Readings around 70 °F with noise of standard deviation {@code sd}, seeded. */
    static double[] noisy(int n, double sd, long seed) {
        Random random = new Random(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = 70.0 + sd * random.nextGaussian();
        return v;
    }

    static List<Feed.Found> flat(List<Feed.Found> found) {
        return found.stream().filter(f -> f.detector().equals("flatline")).toList();
    }

    /** The standard deviation of values[from, to). */
    static double sd(double[] values, int from, int to) {
        double mean = 0, squares = 0;
        for (int i = from; i < to; i++) mean += values[i];
        mean /= to - from;
        for (int i = from; i < to; i++) squares += (values[i] - mean) * (values[i] - mean);
        return Math.sqrt(squares / (to - from));
    }

    @Test
    void aSpreadThatCollapsesIsOneFindingAtTheReadingThatMakesTheWindowFlat() {
        Feed f = Feed.standard();
        double[] normal = noisy(400, 1.0, 1);
        assertEquals(List.of(), flat(f.feed(0, 1, normal)));
        // The probe freezes: a smooth ramp, 0.001 °F a reading, no noise.
        double[] frozen = new double[60];
        for (int i = 0; i < 60; i++) frozen[i] = 70.0 + 0.001 * i;
        List<Feed.Found> found = flat(f.feed(400, 1, frozen));
        assertEquals(1, found.size());
        double[] all = new double[460];
        System.arraycopy(normal, 0, all, 0, 400);
        System.arraycopy(frozen, 0, all, 400, 60);
        // At the latest once the window holds no noisy reading (429), at a window whose spread is
        // below 0.05 of ~1 °F (the usual one), after none that clearly was.
        int at = (int) found.get(0).at();
        assertTrue(400 <= at && at <= 429, found.toString());
        assertTrue(sd(all, at - 29, at + 1) < 0.06, found.toString());
        for (int i = 400; i < at; i++) assertTrue(sd(all, i - 29, i + 1) > 0.04, "window to " + i);
        assertTrue(found.get(0).score() > 20, found.toString()); // usual / now
        // Noise back (the probe reconnected), then frozen again: a second episode.
        assertEquals(List.of(), flat(f.feed(460, 1, noisy(100, 1.0, 2))));
        assertEquals(1, flat(f.feed(560, 1, frozen)).size());
    }

    @Test
    void aRunOfOneValueIsStucksAndACoarseSensorThatRepeatsIsNotJudgedBySpread() {
        Feed f = Feed.standard("stuck.enabled=false");
        f.feed(0, 1, noisy(400, 1.0, 3));
        double[] same = new double[60];
        java.util.Arrays.fill(same, 70.0);
        assertEquals(List.of(), flat(f.feed(400, 1, same)));
        double[] coarse = new double[60]; // 0.1 °F steps: it repeats itself
        for (int i = 0; i < 60; i++) coarse[i] = 70.0 + 0.1 * (i % 3 == 0 ? 1 : 0);
        assertEquals(List.of(), flat(f.feed(460, 1, coarse)));
        // One value between impossible ones: a repeat of its last possible reading, never a
        // spread of 0 judged (its score would be infinite).
        double[] between = new double[60];
        for (int i = 0; i < 60; i++) between[i] = i % 2 == 0 ? 70.0 : 999.0;
        assertEquals(List.of(), flat(f.feed(520, 1, between)));
    }

    @Test
    void nothingBeforeWarmupNorWhenDisabledNorForAQuietSensorThatIsAlwaysQuiet() {
        double[] frozen = new double[60];
        for (int i = 0; i < 60; i++) frozen[i] = 70.0 + 0.001 * i;
        Feed young = Feed.standard();
        young.feed(0, 1, noisy(100, 1.0, 4)); // 100 readings: warmup is 300
        assertEquals(List.of(), flat(young.feed(100, 1, frozen)));
        Feed off = Feed.standard("flatline.enabled=false");
        off.feed(0, 1, noisy(400, 1.0, 5));
        assertEquals(List.of(), flat(off.feed(400, 1, frozen)));
        Feed quiet = Feed.standard(); // its own spread is small: by its own, nothing collapses
        assertEquals(List.of(), flat(quiet.feed(0, 1, noisy(800, 0.01, 6))));
    }

    @Test
    void itsStateComesBackAsSavedAndItsSettingsAreChecked() {
        Feed f = Feed.standard();
        f.feed(0, 1, noisy(400, 1.0, 7));
        Feed again = Feed.standard();
        again.sensor = StoredSensor.roundTrip(f.sensor, again.rules);
        double[] frozen = new double[60];
        for (int i = 0; i < 60; i++) frozen[i] = 70.0 + 0.001 * i;
        assertEquals(flat(f.feed(400, 1, frozen)), flat(again.feed(400, 1, frozen)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Feed.standard("flatline.ratio=1.5"));
        assertEquals("[detectors.flatline] ratio must be between 0 and 1, not 1.5", e.getMessage());
        assertEquals("[detectors.flatline] warmup must be >= 30, not 10",
                     assertThrows(IllegalArgumentException.class, () -> Feed.standard("flatline.warmup=10")).getMessage());
    }
}
