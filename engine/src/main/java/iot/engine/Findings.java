package iot.engine;

import java.util.Map;

/**
 * Where a rule puts what it found: columns of the reading being judged (they make its row of
 * kind judged), or rows of their own (a silence, a level shift).
 */
public interface Findings {
    /** Sets one of the rule's columns for the reading being judged (or annotated, on arrival). */
    void set(String column, Object value);

    /**
     * Adds a row of its own: of {@code kind}, for a reading of the sensor (its state, event time
     * in µs and value), with some of the rule's columns set.
     */
    void row(String kind, String state, long when, double value, Map<String, Object> columns);

    /** Where the judgements of released readings go: {@link #judging} names each reading before
     * the rules see it, so that a column set for it makes its row (kind judged). */
    interface Judgements extends Findings {
        void judging(String state, long when, double value, String reason);
    }
}
