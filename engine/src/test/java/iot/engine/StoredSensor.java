package iot.engine;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder;

/** A sensor as SensorStore has Spark keep it: its core and each rule's slice as the rows their
 * encoders make (what the state store writes), keyed by state variable name. */
final class StoredSensor {
    final Map<String, InternalRow> rows = new HashMap<>();

    /** Stores {@code m} as a step with {@code rules} does. */
    StoredSensor(Sensor m, List<Rule<?>> rules) {
        rows.put("core", serialize(Encoders.bean(Sensor.class), m));
        for (int i = 0; i < rules.size(); i++) rows.put(rules.get(i).stateName(), serialize(rules.get(i).encoder(), m.slices[i]));
    }

    /** Loads it as a step with {@code rules} does (a rule with no stored slice starts fresh). */
    Sensor load(List<Rule<?>> rules) {
        Sensor m = deserialize(Encoders.bean(Sensor.class), rows.get("core"));
        m.slices = new Object[rules.size()];
        for (int i = 0; i < rules.size(); i++) {
            InternalRow row = rows.get(rules.get(i).stateName());
            m.slices[i] = row == null ? rules.get(i).fresh() : deserialize(rules.get(i).encoder(), row);
        }
        return m;
    }

    /** A sensor through the store and back, as the next batch sees it. */
    static Sensor roundTrip(Sensor m, List<Rule<?>> rules) {
        return new StoredSensor(m, rules).load(rules);
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
