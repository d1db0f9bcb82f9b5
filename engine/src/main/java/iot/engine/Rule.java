package iot.engine;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.List;

/**
 * A per-sensor detector rule of the step. It owns its settings (read by name from its
 * [detectors.*] table when it is made), its slice of each sensor's state (of type {@code S}, kept
 * by the step under the rule's name and written by the rule alone, in a format the rule
 * versions), and the columns it adds to the step's rows. Adding a rule never changes another
 * rule's state or columns: a sensor saved before a rule existed gets {@link #fresh} state for it.
 * Registered in {@link RuleRegistry}.
 */
public interface Rule<S> extends Serializable {
    /** Its name: the name its state is kept under. */
    String name();

    /** The columns it adds to every row of the step, each with the value of a row it leaves alone. */
    List<Column> columns();

    /** The state of a sensor it has seen nothing of (or forgotten: TTL). */
    S fresh();

    /** Its state's format: written with the state; {@link #read} takes every one from 1 to this
     * (SensorCodec refuses any other before it asks). */
    int version();

    void write(S state, DataOutputStream out) throws IOException;

    S read(DataInputStream in, int version) throws IOException;

    /** Takes one on-time reading of the sensor that is no duplicate, in event-time order. */
    void observe(S state, Reading reading, Findings out);

    /** When the sensor next needs this rule without a reading (µs of event time), or Sensor.NONE. */
    default long dueMicros(S state, Sensor sensor) {
        return Sensor.NONE;
    }

    /** The event-time timer fired: the clock is at {@code watermark} (µs); the sensor sent nothing since. */
    default void expire(S state, Sensor sensor, long watermark, Findings out) {}

    /** A column a rule adds: its name, Spark type, and its value in a row the rule leaves alone. */
    record Column(String name, String type, boolean nullable, Object unset) implements Serializable {
        public static Column of(String name, String type) {
            return new Column(name, type, true, null);
        }
    }
}
