package iot.engine;

import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
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
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The per-sensor step of a micro-batch, one call per sensor (grouping key: its guid). Every input
 * row comes out again, with {@link SensorStep#EXTRA} columns added: whether it is late (its window
 * already closed by the watermark), first of its sensor in the batch / in its state / in its
 * window, a new sensor, and what zscore and stuck found. A sensor silent for too long adds a row
 * of kind "silent". Records that are not usable have keys of their own and pass through untouched.
 *
 * <p>One event-time timer per sensor, moved only when it fires: it fires at the earliest its
 * sensor can be due (silence, then TTL) and is then set again from the sensor's latest reading.
 */
final class SensorProcessor extends StatefulProcessor<String, Row, Row> {
    private static final long serialVersionUID = 1L;
    private final Rules rules;
    private final int guid, state, time, temperature, reason, partition, offset, batchTime, width;
    private transient ValueState<byte[]> store;

    SensorProcessor(StructType input, Rules rules) {
        this.rules = rules;
        guid = input.fieldIndex("guid");
        state = input.fieldIndex("state");
        time = input.fieldIndex("event_time");
        temperature = input.fieldIndex("temperature");
        reason = input.fieldIndex("reason");
        partition = input.fieldIndex("kafka_partition");
        offset = input.fieldIndex("kafka_offset");
        batchTime = input.fieldIndex("batch_time");
        width = input.size();
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

    private Row row(Row in, String kind, boolean late, boolean first, boolean firstInState,
                    boolean firstInWindow, boolean isNew, SensorModel.Finding f) {
        Object[] v = new Object[width + SensorStep.EXTRA.length];
        for (int i = 0; i < width; i++) v[i] = in.get(i);
        v[width] = kind;
        v[width + 1] = late;
        v[width + 2] = first;
        v[width + 3] = firstInState;
        v[width + 4] = firstInWindow;
        v[width + 5] = isNew;
        if (f != null) {
            v[width + 6] = f.zReason;
            v[width + 7] = f.zReason == null ? null : f.zScore;
            v[width + 8] = f.stuck ? f.stuckScore : null;
        }
        return RowFactory.create(v);
    }

    private Row silentRow(String key, String sensorState, long lastTime, double lastValue,
                          TimerValues timers) {
        Object[] v = new Object[width + SensorStep.EXTRA.length];
        v[batchTime] = new Timestamp(timers.getCurrentProcessingTimeInMs()); // the batch's time
        v[guid] = key;
        v[state] = sensorState;
        v[time] = timestamp(lastTime);
        v[temperature] = lastValue;
        v[width] = "silent";
        v[width + 1] = v[width + 2] = v[width + 3] = v[width + 4] = v[width + 5] = false;
        return RowFactory.create(v);
    }

    @Override
    public scala.collection.Iterator<Row> handleInputRows(
            String key, scala.collection.Iterator<Row> rows, TimerValues timers) {
        if (key.startsWith(SensorStep.UNUSABLE)) { // passed through as they come, not held
            return rows.map(r -> row(r, "record", false, false, false, false, false, null));
        }
        List<Row> in = new ArrayList<>();
        while (rows.hasNext()) in.add(rows.next());
        List<Row> out = new ArrayList<>(in.size() + 1);
        in.sort(Comparator.<Row>comparingLong(r -> micros(r.getTimestamp(time)))
                .thenComparingInt(r -> r.getInt(partition))
                .thenComparingLong(r -> r.getLong(offset)));
        long watermark = timers.getCurrentWatermarkInMs() * 1000; // 0: none yet
        boolean known = store.exists();
        SensorModel m = known ? SensorModel.fromBytes(store.get()) : new SensorModel();
        if (watermark > 0) m.closeWindows(rules.windowMicros(), watermark);
        Set<String> states = new HashSet<>(2);
        boolean first = true;
        for (Row r : in) {
            long when = micros(r.getTimestamp(time));
            long start = Math.floorDiv(when, rules.windowMicros()) * rules.windowMicros();
            boolean late = watermark > 0 && start + rules.windowMicros() <= watermark;
            boolean firstInState = states.add(r.getString(state));
            boolean isNew = first && !known;
            if (late) { // kept out of the model: it comes after newer readings the model has seen
                out.add(row(r, "reading", true, first, firstInState, false, isNew, null));
            } else {
                SensorModel.Finding f = m.observe(rules, r.getString(state), when,
                                                  r.getDouble(temperature), r.isNullAt(reason));
                if (f.silent) {
                    out.add(silentRow(key, f.silentState, f.silentTime, f.silentValue, timers));
                }
                out.add(row(r, "reading", false, first, firstInState, m.firstInWindow(start), isNew, f));
            }
            first = false;
        }
        // The timer stays where it is unless the sensor is now due earlier (it came back after
        // a reported silence, whose timer was moved to the TTL): then it moves there.
        long due = m.nextDeadlineMs(rules);
        if (due != SensorModel.NONE && (m.timer == SensorModel.NONE || due < m.timer)) {
            if (m.timer != SensorModel.NONE) getHandle().deleteTimer(m.timer);
            m.timer = due;
            getHandle().registerTimer(due);
        }
        store.update(m.toBytes());
        return CollectionConverters.asScala(out.iterator());
    }

    @Override
    public scala.collection.Iterator<Row> handleExpiredTimer(
            String key, TimerValues timers, ExpiredTimerInfo expired) {
        List<Row> out = new ArrayList<>(1);
        if (!store.exists()) return CollectionConverters.asScala(out.iterator());
        SensorModel m = SensorModel.fromBytes(store.get());
        long watermark = timers.getCurrentWatermarkInMs() * 1000;
        if (m.hasModel && m.lastTime != SensorModel.NONE) {
            if (rules.silent() && !m.silentReported && m.lastTime + rules.silentMicros() <= watermark) {
                out.add(silentRow(key, m.state, m.lastTime, m.lastValue, timers));
                m.silentReported = true;
            }
            if (m.lastTime + rules.ttlMicros() <= watermark) m.forget();
        }
        m.timer = m.nextDeadlineMs(rules);
        if (m.timer != SensorModel.NONE) getHandle().registerTimer(m.timer);
        store.update(m.toBytes());
        return CollectionConverters.asScala(out.iterator());
    }
}
