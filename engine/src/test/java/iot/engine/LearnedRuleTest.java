package iot.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import org.junit.jupiter.api.Test;

/** learned: the features reading by reading, and a forest's score (the stream's findings against
 * plain Python are tests/test_learned_stream.py's). */
class LearnedRuleTest {
    static LearnedRule rule(String... overrides) {
        return new LearnedRule(Settings.parse(Feed.settings(overrides)));
    }

    @Test
    void featuresAreTheSpreadScaledDistancesBeforeTheReadingJoins() {
        // Spans 3 and 7 (weights 0.5 and 0.25), warm after 2 readings, min_sigma 0.5.
        LearnedRule r = rule("learned.fast_span=3", "learned.slow_span=7", "learned.warmup=2");
        LearnedRule.State s = r.fresh();
        assertNull(r.features(s, 10.0));
        r.learn(s, 10.0); // means 10, variances 0
        assertNull(r.features(s, 12.0));
        r.learn(s, 12.0);
        // fast: d 2, step 1 → mean 11, var 0.5 × (0 + 2 × 1) = 1; slow: step 0.5 → mean 10.5,
        // var 0.75 × (0 + 2 × 0.5) = 0.75.
        double spread = 1.0, slowSpread = Math.sqrt(0.75);
        assertArrayEquals(new double[] {(14.0 - 11) / spread, (14.0 - 12) / spread,
                                        (14.0 - 10.5) / slowSpread, Math.log(spread / slowSpread)},
                          r.features(s, 14.0), 1e-12);
        // A steady sensor: the spread is min_sigma, not 0.
        LearnedRule.State flat = r.fresh();
        for (int i = 0; i < 5; i++) r.learn(flat, 20.0);
        assertArrayEquals(new double[] {2.0, 2.0, 2.0, 0.0}, r.features(flat, 21.0), 1e-12);
    }

    @Test
    void stateSurvivesItsEncoder() throws IOException {
        LearnedRule r = rule();
        LearnedRule.State s = r.fresh();
        for (double v : new double[] {60.1, 60.7, 59.9, 61.2}) r.learn(s, v);
        s.run = true;
        LearnedRule.State back = StoredSensor.deserialize(r.encoder(), StoredSensor.serialize(r.encoder(), s));
        assertArrayEquals(r.features(s, 65.0), r.features(back, 65.0), 0.0);
        assertEquals(s.run, back.run);
        assertEquals(s.n, back.n);
    }

    static final String FOREST = """
        {"features": {"fast_span": 30, "slow_span": 300, "warmup": 10, "min_sigma": 0.5},
         "threshold": 0.6,
         "forest": {"normaliser": 2.0, "trees": [
           {"feature": [0, -1, -1], "threshold": [1.5, -2, -2], "left": [1, -1, -1],
            "right": [2, -1, -1], "path": [0, 3.0, 1.0]},
           {"feature": [1, -1, 0, -1, -1], "threshold": [0.1, -2, 7.25, -2, -2],
            "left": [1, -1, 3, -1, -1], "right": [2, -1, 4, -1, -1], "path": [0, 1.0, 0, 2.0, 2.5]}]}}
        """;

    @Test
    void aForestScoresByTheMeanPathLength() {
        LearnedModel m = LearnedModel.parse("test", FOREST);
        // x0 1.0 ≤ 1.5 → 3.0; x1 0.0 ≤ 0.1 → 1.0: 2^(-(4.0) / (2 × 2.0)) = 0.5.
        assertEquals(0.5, m.score(new double[] {1.0, 0.0, 0, 0}), 1e-15);
        // x0 9 → 1.0; x1 0.5 > 0.1, x0 9 > 7.25 → 2.5: 2^(-3.5 / 4).
        assertEquals(Math.pow(2, -3.5 / 4), m.score(new double[] {9.0, 0.5, 0, 0}), 1e-15);
        // Splits compare float32 values, as scikit-learn's trees do: 7.2500001 is 7.25 in float32.
        assertEquals(Math.pow(2, -3.0 / 4), m.score(new double[] {7.2500001, 0.5, 0, 0}), 1e-15);
        assertEquals(LearnedModel.spec(30, 300, 10, 0.5), m.spec);
        assertEquals(0.6, m.threshold);
    }

    @Test
    void badSettingsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> rule("learned.fast_span=50", "learned.slow_span=20"));
        assertEquals("[detectors.learned] slow_span must be >= 50, not 20", e.getMessage());
    }
}
