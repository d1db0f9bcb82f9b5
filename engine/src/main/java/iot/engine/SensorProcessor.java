package iot.engine;

import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.streaming.ExpiredTimerInfo;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.streaming.StatefulProcessor;
import org.apache.spark.sql.streaming.TTLConfig;
import org.apache.spark.sql.streaming.TimeMode;
import org.apache.spark.sql.streaming.TimerValues;
import org.apache.spark.sql.streaming.ValueState;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The per-sensor step of a micro-batch, one call per sensor (grouping key: its guid). Every input
 * row comes out again, with the contract's columns added: whether it is late (its window already
 * closed by the event-time clock), first of its sensor in the batch / in its state / in its
 * window (for a late reading: in the window it restates, within the restate horizon), a new
 * sensor; and each rule's columns. A reading with the event time of one already accepted in a
 * window still open is a duplicate, kept out of the rules. Rules may add rows of their own (a
 * silence, a level shift). Records that are not usable have keys of their own and pass through.
 *
 * <p>One event-time timer per sensor, moved only when it fires: it fires at the earliest its
 * sensor can be due (a rule's deadline, then TTL) and is then set again from its latest reading.
 */
final class SensorProcessor extends StatefulProcessor<String, Row, Row> {
    private static final long serialVersionUID = 1L;
    private final List<Rule<?>> rules;
    private final long windowMicros, restateMicros, ttlMicros;
    private final int guid, state, time, temperature, reason, partition, offset, batchTime, width;
    private final int clock; // the event-time policy's verdict
    private final Map<String, Integer> columns = new HashMap<>(); // output column → index
    // The contract's columns every row gets, found once (a row must not pay a lookup per column).
    private final int kindAt, lateAt, firstAt, firstInStateAt, firstInWindowAt, newSensorAt;
    private final int duplicateKindAt, keptAt;
    private final Object[] unset; // each output column's value in a row nobody set it in
    private transient ValueState<byte[]> store;

    SensorProcessor(StructType input, Settings settings, List<Rule<?>> rules) {
        this.rules = rules;
        windowMicros = settings.micros("window_seconds");
        restateMicros = settings.micros("restate_horizon_seconds");
        ttlMicros = settings.micros("sensor_ttl_seconds");
        if (windowMicros <= 0 || restateMicros < 0 || ttlMicros <= 0) {
            throw new IllegalArgumentException("invalid step settings: window " + windowMicros
                    + " µs, restate horizon " + restateMicros + " µs, TTL " + ttlMicros + " µs");
        }
        guid = input.fieldIndex("guid");
        state = input.fieldIndex("state");
        time = input.fieldIndex("event_time");
        temperature = input.fieldIndex("temperature");
        reason = input.fieldIndex("reason");
        partition = input.fieldIndex("kafka_partition");
        offset = input.fieldIndex("kafka_offset");
        batchTime = input.fieldIndex("batch_time");
        clock = input.fieldIndex("clock");
        StructType output = SensorStep.outputSchema(input, rules);
        width = output.size();
        for (int i = 0; i < width; i++) columns.put(output.fields()[i].name(), i);
        kindAt = columns.get("kind");
        lateAt = columns.get("late");
        firstAt = columns.get("first_of_sensor");
        firstInStateAt = columns.get("first_in_state");
        firstInWindowAt = columns.get("first_in_window");
        newSensorAt = columns.get("new_sensor");
        duplicateKindAt = columns.get("duplicate_kind");
        keptAt = columns.get("kept_temperature");
        unset = new Object[width];
        for (var f : Contract.OUTPUT) {
            if (f.dataType() == DataTypes.BooleanType) unset[columns.get(f.name())] = false;
        }
        for (Rule<?> rule : rules) {
            for (Rule.Column c : rule.columns()) unset[columns.get(c.name())] = c.unset();
        }
    }

    @Override
    public void init(OutputMode outputMode, TimeMode timeMode) {
        store = getHandle().getValueState("sensor", Encoders.BINARY(), TTLConfig.NONE());
    }

    static long micros(Timestamp t) {
        return Math.floorDiv(t.getTime(), 1000) * 1_000_000 + t.getNanos() / 1000;
    }

    static Timestamp timestamp(long micros) {
        Timestamp t = new Timestamp(Math.floorDiv(micros, 1_000_000) * 1000);
        t.setNanos((int) Math.floorMod(micros, 1_000_000) * 1000);
        return t;
    }

    /** The rows of one sensor's call: a row per input row, and the rules' rows of their own. */
    private final class Out implements Findings {
        final List<Row> rows = new ArrayList<>();
        final List<Row> found = new ArrayList<>(0);
        final String key;
        final TimerValues timers;
        Object[] current;

        Out(String key, TimerValues timers) {
            this.key = key;
            this.timers = timers;
        }

        /** Starts the row of an input row, with the contract's columns. */
        Object[] start(Row in, String kind, boolean late, boolean first, boolean firstInState,
                       boolean firstInWindow, boolean isNew) {
            Object[] v = unset.clone();
            for (int i = 0; i < in.length(); i++) v[i] = in.get(i);
            v[kindAt] = kind;
            v[lateAt] = late;
            v[firstAt] = first;
            v[firstInStateAt] = firstInState;
            v[firstInWindowAt] = firstInWindow;
            v[newSensorAt] = isNew;
            current = v;
            return v;
        }

        /** Ends the row begun last, and the rows the rules found with it. */
        void end() {
            rows.add(RowFactory.create(current));
            rows.addAll(found);
            found.clear();
            current = null;
        }

        @Override
        public void set(String column, Object value) {
            current[columns.get(column)] = value;
        }

        @Override
        public void row(String kind, String sensorState, long when, double value,
                        Map<String, Object> values) {
            Object[] v = unset.clone();
            v[batchTime] = new Timestamp(timers.getCurrentProcessingTimeInMs()); // the batch's time
            v[guid] = key;
            v[state] = sensorState;
            v[time] = timestamp(when);
            v[temperature] = value;
            v[kindAt] = kind;
            for (var e : values.entrySet()) v[columns.get(e.getKey())] = e.getValue();
            found.add(RowFactory.create(v));
        }
    }

    @Override
    public scala.collection.Iterator<Row> handleInputRows(
            String key, scala.collection.Iterator<Row> rows, TimerValues timers) {
        Out out = new Out(key, timers);
        if (key.startsWith(SensorStep.UNUSABLE)) { // passed through as they come, not held
            return rows.map(r -> {
                out.start(r, Contract.QUARANTINED, false, false, false, false, false);
                return RowFactory.create(out.current);
            });
        }
        List<Row> in = new ArrayList<>();
        while (rows.hasNext()) in.add(rows.next());
        in.sort(Comparator.<Row>comparingLong(r -> micros(r.getTimestamp(time)))
                .thenComparingInt(r -> r.getInt(partition))
                .thenComparingLong(r -> r.getLong(offset)));
        long now = SensorStep.clockMicros(); // the event-time clock; NONE: none yet
        boolean clocked = now != Sensor.NONE;
        boolean known = store.exists();
        Sensor m = known ? SensorCodec.fromBytes(store.get(), rules) : new Sensor(rules);
        if (clocked) m.closeWindows(windowMicros, restateMicros, now);
        Set<String> states = new HashSet<>(2);
        boolean first = true;
        for (Row r : in) {
            long when = micros(r.getTimestamp(time));
            long start = Math.floorDiv(when, windowMicros) * windowMicros;
            boolean late = clocked && start + windowMicros <= now;
            // A reading whose time the policy set to its Kafka timestamp is not judged a
            // re-send: two readings may share a Kafka timestamp, and a re-send has another.
            boolean adjusted = !r.isNullAt(clock);
            int seen = late || adjusted ? -1 : m.seen(when);
            if (seen >= 0) { // the same sensor and event time as a reading already accepted
                double kept = m.seenValue(seen);
                out.start(r, Contract.DUPLICATE, false, false, false, false, false);
                out.current[duplicateKindAt] =
                        r.getDouble(temperature) == kept ? Contract.RESEND : Contract.CONFLICT;
                out.current[keptAt] = kept;
                out.end();
                continue;
            }
            boolean firstInState = states.add(r.getString(state));
            boolean isNew = first && !known;
            if (late) { // kept out of the rules: it comes after newer readings they have seen
                boolean restates = start + windowMicros > now - restateMicros;
                out.start(r, Contract.READING, true, first, firstInState,
                          restates && m.firstInWindow(start), isNew);
            } else {
                double value = r.getDouble(temperature);
                out.start(r, Contract.READING, false, first, firstInState, m.firstInWindow(start), isNew);
                m.observe(rules, r.getString(state), when, value,
                          r.isNullAt(reason) ? null : r.getString(reason), out);
                if (!adjusted) m.remember(when, value);
            }
            out.end();
            first = false;
        }
        // The timer stays where it is unless the sensor is now due earlier (it came back after
        // a reported silence, whose timer was moved to the TTL): then it moves there.
        long due = m.dueMs(rules, ttlMicros);
        if (due != Sensor.NONE && (m.timer == Sensor.NONE || due < m.timer)) {
            if (m.timer != Sensor.NONE) getHandle().deleteTimer(m.timer);
            m.timer = due;
            getHandle().registerTimer(due);
        }
        store.update(SensorCodec.toBytes(m, rules));
        return CollectionConverters.asScala(out.rows.iterator());
    }

    @Override
    public scala.collection.Iterator<Row> handleExpiredTimer(
            String key, TimerValues timers, ExpiredTimerInfo expired) {
        Out out = new Out(key, timers);
        if (!store.exists()) return CollectionConverters.asScala(out.rows.iterator());
        Sensor m = SensorCodec.fromBytes(store.get(), rules);
        // Spark fires timers by its watermark, which follows the clock one batch behind.
        long now = SensorStep.clockMicros();
        long watermark = Math.max(timers.getCurrentWatermarkInMs() * 1000, now == Sensor.NONE ? 0 : now);
        m.expire(rules, watermark, ttlMicros, windowMicros, restateMicros, out);
        out.rows.addAll(out.found);
        m.timer = m.dueMs(rules, ttlMicros);
        if (m.timer != Sensor.NONE) getHandle().registerTimer(m.timer);
        store.update(SensorCodec.toBytes(m, rules));
        return CollectionConverters.asScala(out.rows.iterator());
    }
}
