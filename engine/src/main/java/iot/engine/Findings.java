package iot.engine;

import java.util.Map;

/** Where a rule puts what it found: columns of the reading's row, or rows of their own. */
public interface Findings {
    /** Sets one of the rule's columns on the row of the reading being observed. */
    void set(String column, Object value);

    /**
     * Adds a row of its own (after the reading's, if any): of {@code kind}, for a reading of the
     * sensor (its state, event time in µs and value), with some of the rule's columns set.
     */
    void row(String kind, String state, long when, double value, Map<String, Object> columns);
}
