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
 * already closed by the event-time clock), first of its sensor in the batch / in its state / in its
 * window (for a late reading: in the window it restates, within the restate horizon), a new
 * sensor, and what zscore and stuck found. A reading with the event time of one
 * already accepted in a window still open is a duplicate (kind "duplicate"), kept out of the
 * model. A sensor silent for too long adds a row of kind "silent", a new level one of kind
 * "shift". Records that are not usable have keys of their own and pass through untouched.
 *
 * <p>One event-time timer per sensor, moved only when it fires: it fires at the earliest its
 * sensor can be due (silence, then TTL) and is then set again from the sensor's latest reading.
 */
final class SensorProcessor extends StatefulProcessor<String, Row, Row> {
    private static final long serialVersionUID = 1L;
    private static final String IMPOSSIBLE = "impossible"; // the band rule's reason (anomalies.py)
    private final Rules rules;
    private final int guid, state, time, temperature, reason, partition, offset, batchTime, width;
    private final int clock; // the event-time policy's verdict, when the input has it (else -1)
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
        clock = java.util.Arrays.asList(input.fieldNames()).indexOf("clock");
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
            v[width + 12] = Double.isNaN(f.mean) ? null : f.mean;
            v[width + 13] = Double.isNaN(f.sigma) ? null : f.sigma;
        }
        v[width + 11] = f != null && f.bandNew;
        return RowFactory.create(v);
    }

    /** A re-send of a reading already accepted: "resend", or "conflict" when its value differs
     * from the kept one (detail_score). */
    private Row duplicate(Row in, double kept) {
        Row out = row(in, "duplicate", false, false, false, false, false, null);
        Object[] v = new Object[out.length()];
        for (int i = 0; i < v.length; i++) v[i] = out.get(i);
        v[width + 9] = in.getDouble(temperature) == kept ? "resend" : "conflict";
        v[width + 10] = kept;
        return RowFactory.create(v);
    }

    /** A row of its own for what the step found without a reading of this batch to carry it:
     * a silence (the sensor's last reading) or a level shift (the first reading of the level). */
    private Row found(String kind, String key, String sensorState, long when, double value,
                      String detail, Double score, TimerValues timers) {
        Object[] v = new Object[width + SensorStep.EXTRA.length];
        v[batchTime] = new Timestamp(timers.getCurrentProcessingTimeInMs()); // the batch's time
        v[guid] = key;
        v[state] = sensorState;
        v[time] = timestamp(when);
        v[temperature] = value;
        v[width] = kind;
        v[width + 1] = v[width + 2] = v[width + 3] = v[width + 4] = v[width + 5] = false;
        v[width + 11] = false;
        v[width + 9] = detail;
        v[width + 10] = score;
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
        long now = SensorStep.clockMicros(); // the event-time clock; NONE: none yet
        boolean clocked = now != SensorModel.NONE;
        boolean known = store.exists();
        SensorModel m = known ? SensorCodec.fromBytes(store.get()) : new SensorModel();
        if (clocked) m.closeWindows(rules, now);
        Set<String> states = new HashSet<>(2);
        boolean first = true;
        for (Row r : in) {
            long when = micros(r.getTimestamp(time));
            long start = Math.floorDiv(when, rules.windowMicros()) * rules.windowMicros();
            boolean late = clocked && start + rules.windowMicros() <= now;
            // A reading whose time the policy set to its Kafka timestamp is not judged a
            // re-send: two readings may share a Kafka timestamp, and a re-send has another.
            boolean adjusted = clock >= 0 && !r.isNullAt(clock);
            int seen = late || adjusted ? -1 : m.seen(when);
            if (seen >= 0) { // the same sensor and event time as a reading already accepted
                out.add(duplicate(r, m.seenValues[seen]));
                continue;
            }
            boolean firstInState = states.add(r.getString(state));
            boolean isNew = first && !known;
            if (late) { // kept out of the model: it comes after newer readings the model has seen
                boolean restates = start + rules.windowMicros() > now - rules.restateMicros();
                out.add(row(r, "reading", true, first, firstInState,
                            restates && m.firstInWindow(start), isNew, null));
            } else {
                double value = r.getDouble(temperature);
                String band = r.isNullAt(reason) ? null : r.getString(reason);
                SensorModel.Finding f = m.observe(rules, r.getString(state), when, value,
                                                  !IMPOSSIBLE.equals(band));
                f.bandNew = m.bandStarts(band);
                if (!adjusted) m.remember(when, value);
                if (f.silent) {
                    out.add(found("silent", key, f.silentState, f.silentTime, f.silentValue, null,
                                  null, timers));
                }
                out.add(row(r, "reading", false, first, firstInState, m.firstInWindow(start), isNew, f));
                if (f.shift) {
                    out.add(found("shift", key, r.getString(state), f.shiftTime, f.shiftValue,
                                  f.shiftSize > 0 ? "up" : "down", Math.abs(f.shiftSize), timers));
                }
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
        store.update(SensorCodec.toBytes(m));
        return CollectionConverters.asScala(out.iterator());
    }

    @Override
    public scala.collection.Iterator<Row> handleExpiredTimer(
            String key, TimerValues timers, ExpiredTimerInfo expired) {
        List<Row> out = new ArrayList<>(1);
        if (!store.exists()) return CollectionConverters.asScala(out.iterator());
        SensorModel m = SensorCodec.fromBytes(store.get());
        // Spark fires timers by its watermark, which follows the clock one batch behind.
        long now = SensorStep.clockMicros();
        long watermark = Math.max(timers.getCurrentWatermarkInMs() * 1000,
                                  now == SensorModel.NONE ? 0 : now);
        if (m.hasModel && m.lastTime != SensorModel.NONE) {
            if (rules.silent() && !m.silentReported && m.lastTime + rules.silentMicros() <= watermark) {
                out.add(found("silent", key, m.state, m.lastTime, m.lastValue, null, null, timers));
                m.silentReported = true;
            }
            if (m.lastTime + rules.ttlMicros() <= watermark) m.forget();
        }
        m.closeWindows(rules, watermark); // a sensor gone: nothing left open
        m.timer = m.nextDeadlineMs(rules);
        if (m.timer != SensorModel.NONE) getHandle().registerTimer(m.timer);
        store.update(SensorCodec.toBytes(m));
        return CollectionConverters.asScala(out.iterator());
    }
}
