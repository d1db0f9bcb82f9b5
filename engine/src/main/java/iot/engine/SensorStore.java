package iot.engine;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.streaming.StatefulProcessorHandle;
import org.apache.spark.sql.streaming.TTLConfig;
import org.apache.spark.sql.streaming.ValueState;

/**
 * A sensor's state in Spark's state store, as typed state variables of the step's processor:
 * {@code core}, what every rule relies on (Sensor's properties, a bean), and one variable per
 * rule, named after it (Rule.stateName), with the rule's encoder. Spark's state reader shows
 * each as columns (docs/tables.md). A rule taken out of the registry leaves its variable in the
 * store, unread; a rule that comes back under that name finds it. The one byte array the engine kept before ({@code sensor}) is read once,
 * when a sensor of such a checkpoint comes back, and cleared ({@link LegacySensorState}).
 */
final class SensorStore {
    /** Where the variables are: the processor's handle (Spark's state store), or a test's. */
    interface Variables {
        <T> ValueState<T> variable(String name, Encoder<T> encoder);
    }

    private final List<Rule<?>> rules;
    private final ValueState<Sensor> core;
    private final List<ValueState<Object>> slices;
    private final ValueState<byte[]> legacy;

    SensorStore(StatefulProcessorHandle handle, List<Rule<?>> rules) {
        this(new Variables() {
            @Override
            public <T> ValueState<T> variable(String name, Encoder<T> encoder) {
                return handle.getValueState(name, encoder, TTLConfig.NONE());
            }
        }, rules);
    }

    SensorStore(Variables variables, List<Rule<?>> rules) {
        this.rules = rules;
        core = variables.variable("core", Encoders.bean(Sensor.class));
        slices = new ArrayList<>(rules.size());
        for (Rule<?> rule : rules) slices.add(variables.variable(rule.stateName(), encoder(rule)));
        legacy = variables.variable("sensor", Encoders.BINARY());
    }

    @SuppressWarnings("unchecked")
    private static Encoder<Object> encoder(Rule<?> rule) {
        return (Encoder<Object>) rule.encoder();
    }

    /** The sensor as the store has it, or null: never seen. A sensor kept as bytes before is
     * converted, and its bytes cleared (its new state is saved at the end of the same call). */
    Sensor load() {
        Sensor m = core.get(); // null: none (get, not exists and get: one read of the store)
        if (m != null) {
            m.slices = new Object[rules.size()];
            for (int i = 0; i < m.slices.length; i++) {
                Object slice = slices.get(i).get();
                m.slices[i] = slice != null ? slice : rules.get(i).fresh(); // a rule added since
            }
            return m;
        }
        byte[] bytes = legacy.get();
        if (bytes == null) return null;
        legacy.clear();
        return LegacySensorState.read(bytes, rules);
    }

    /** Saves the sensor. A sensor with no model (forgotten: TTL) has only fresh slices, which
     * are not kept: a slice missing is read as fresh. */
    void save(Sensor m) {
        core.update(m);
        for (int i = 0; i < m.slices.length; i++) {
            if (m.hasModel) slices.get(i).update(m.slices[i]);
            else slices.get(i).clear();
        }
    }
}
