package iot.engine;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder;
import org.apache.spark.sql.streaming.ValueState;

/** Spark's state store as SensorStore sees it, in memory: each variable's value as the row its
 * encoder makes (what the state store writes), by variable name. */
final class StoredSensor implements SensorStore.Variables {
    final Map<String, InternalRow> rows = new HashMap<>();

    StoredSensor() {}

    /** Stores {@code m} as a step with {@code rules} does. */
    StoredSensor(Sensor m, List<Rule<?>> rules) {
        new SensorStore(this, rules).save(m);
    }

    /** Loads the sensor as a step with {@code rules} does (SensorStore.load). */
    Sensor load(List<Rule<?>> rules) {
        return new SensorStore(this, rules).load();
    }

    /** A sensor through the store and back, as the next batch sees it. */
    static Sensor roundTrip(Sensor m, List<Rule<?>> rules) {
        return new StoredSensor(m, rules).load(rules);
    }

    @Override
    public <T> ValueState<T> variable(String name, Encoder<T> encoder) {
        return new ValueState<>() {
            @Override public boolean exists() { return rows.containsKey(name); }
            @Override public T get() { return exists() ? deserialize(encoder, rows.get(name)) : null; }
            @Override public void update(T value) { rows.put(name, serialize(encoder, value)); }
            @Override public void clear() { rows.remove(name); }
        };
    }

    @SuppressWarnings("unchecked")
    static <T> InternalRow serialize(Encoder<T> encoder, Object value) {
        ExpressionEncoder<T> e = org.apache.spark.sql.catalyst.encoders.package$.MODULE$.encoderFor(encoder);
        return e.createSerializer().apply((T) value).copy();
    }

    static <T> T deserialize(Encoder<T> encoder, InternalRow row) {
        ExpressionEncoder<T> e = org.apache.spark.sql.catalyst.encoders.package$.MODULE$.encoderFor(encoder);
        return e.resolveAndBind(e.resolveAndBind$default$1(), e.resolveAndBind$default$2()).createDeserializer().apply(row);
    }
}
