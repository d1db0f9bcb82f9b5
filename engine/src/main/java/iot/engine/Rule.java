package iot.engine;

import java.io.Serializable;
import java.util.List;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;

/**
 * A per-sensor detector rule of the step. It owns its settings (declared, defaulted and checked
 * where it reads them from its [detectors.*] table when it is made: {@link Settings}), its slice
 * of each sensor's state (of type {@code S}: Spark keeps it as a state variable of the rule's
 * own, named after the rule and stored with the rule's {@link #encoder}, so its fields are
 * columns Spark's state reader shows), and what it finds ({@link Findings}: data the job's tables
 * take as they come). Adding a rule never changes another rule's state: a sensor saved before a
 * rule existed gets {@link #fresh} state for it. Registered in {@link RuleRegistry}.
 */
public interface Rule<S> extends Serializable {
    /** Its name: the name its state is kept under (and, as a rule, its findings' detector). */
    String name();

    /** Columns of its own it adds to every row of the step (most rules add none). */
    default List<Column> columns() {
        return List.of();
    }

    /** The state of a sensor it has seen nothing of (or forgotten: TTL). */
    S fresh();

    /** The name of its state variable: its name, unless its state's fields changed in a way
     * Spark's schema check refuses (a new name then starts every sensor's state fresh). */
    default String stateName() {
        return name();
    }

    /** How Spark stores its state: a bean encoder of {@link #fresh}'s class (its properties,
     * a getter and a setter each, are the stored fields; SensorStateTest checks every field of
     * every rule's state is one). A change of its fields is a change of the stored schema, which
     * Spark checks when a query restarts. */
    @SuppressWarnings("unchecked")
    default Encoder<S> encoder() {
        return Encoders.bean((Class<S>) fresh().getClass());
    }

    /**
     * Takes one reading of the sensor (no duplicate, not late), in event-time order, once the
     * rules' clock has reached it: nothing earlier of the sensor can still come.
     */
    void observe(S state, Reading reading, Findings out);

    /**
     * A reading kept out of the rules (late, or behind the rules' clock): what the rule says of it
     * alone, as it arrives (its state is not the reading's time's). Nothing by default.
     */
    default void aside(Reading reading, Findings out) {}

    /**
     * Columns of a reading's own row as it arrives, when it is held for the rules (it is judged
     * later, once the rules' clock reaches it): what the rule can say of it already, such as
     * zscore's band from the history judged so far. Nothing by default.
     */
    default void annotate(S state, double value, Findings out) {}

    /** When the sensor next needs this rule without a reading (µs of event time), or Sensor.NONE:
     * the step looks at the sensor again once the rules' clock has passed it. */
    default long dueMicros(S state, Sensor sensor) {
        return Sensor.NONE;
    }

    /**
     * The rules' clock is at {@code judgedUntil} (µs) and every reading of the sensor up to it has
     * been observed: what the rule concludes from the time that passed since (a silence). Called
     * after every release.
     */
    default void expire(S state, Sensor sensor, long judgedUntil, Findings out) {}

    /** A column a rule adds: its name, Spark type, and its value in a row the rule leaves alone. */
    record Column(String name, String type, boolean nullable, Object unset) implements Serializable {
        public static Column of(String name, String type) {
            return new Column(name, type, true, null);
        }
    }
}
