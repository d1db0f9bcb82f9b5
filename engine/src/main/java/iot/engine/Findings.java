package iot.engine;

/**
 * Where a rule puts what it found, as data: a finding (its detector, a reason, a score) of the
 * reading being judged, or of another reading of the sensor (a silence after its last reading,
 * a level shift that began at an earlier one). The step hands every finding on in its
 * {@code findings} column; the job's tables take them without knowing which rule made them.
 * A rule may also set columns of its own on the reading's row ({@link Rule#columns}).
 */
public interface Findings {
    /** A finding of the reading being judged (or, kept out of the rules, the reading alone). */
    void find(String detector, String reason, double score);

    /** A finding of another reading of the sensor: its state, event time (µs) and value. */
    void findAt(String detector, String state, long when, double value, String reason, double score);

    /** Sets one of the rule's own columns for the reading being judged (or annotated, on
     * arrival). */
    void set(String column, Object value);

    /** Where the judgements of released readings go: {@link #judging} names each reading before
     * the rules see it, so that a finding of it makes its row (kind judged). */
    interface Judgements extends Findings {
        void judging(String state, long when, double value, String reason);
    }
}
