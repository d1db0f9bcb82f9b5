package iot.engine;

import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.streaming.ExpiredTimerInfo;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.streaming.StatefulProcessor;
import org.apache.spark.sql.streaming.TimeMode;
import org.apache.spark.sql.streaming.TimerValues;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The per-sensor step of a micro-batch, one call per sensor (grouping key: its guid).
 *
 * <p>On arrival, by the event-time clock: every input row comes out again, with the contract's
 * columns added: whether it is late (its window already closed), first of its sensor in the
 * batch / in its state / in its window (for a late reading: in the window it restates, within the
 * restate horizon), a new sensor, and whether it goes to the rules. A reading with the event time
 * of one already accepted in a window still open is a duplicate. Records that are not usable have
 * keys of their own and pass through.
 *
 * <p>Judged by the rules' clock (judged_until): a reading that is neither late nor behind the
 * rules' clock the batch before left is held in the sensor's state and released to the rules,
 * oldest first, once the clock reaches it, in this batch or a later one; so every rule sees a
 * sensor's readings in event-time order whatever the Kafka partitions, the slicing of a backlog
 * or the producer's keys. What the rules find is data in the {@code findings} column: of a reading
 * on its own row (judged alone as it arrives: Rule.aside), or of a released reading or another
 * reading of the sensor (a silence after its last, a level shift's first) on a row of kind judged.
 *
 * <p>One event-time timer per sensor: while it holds readings, the next batch whose watermark
 * moves (they may be due then); otherwise its rules' earliest deadline, then TTL.
 *
 * <p>(Over 300 lines: Spark calls this one class, and the rows it makes are its own; the state is
 * SensorStore's and Sensor's, the judging the rules'.)
 */
final class SensorProcessor extends StatefulProcessor<String, Row, Row> {
    private static final long serialVersionUID = 1L;
    private final List<Rule<?>> rules;
    private final long windowMicros, restateMicros, ttlMicros;
    private final int guid, state, time, temperature, reason, partition, offset, batchTime, width;
    private final int clock; // the event-time policy's verdict
    private final Map<String, Integer> columns = new HashMap<>(); // output column → index
    // The contract's columns every row gets, found once (a row must not pay a lookup per column).
    private final int kindAt, lateAt, toRulesAt, firstAt, firstInStateAt, firstInWindowAt, newSensorAt;
    private final int duplicateKindAt, keptAt, findingsAt;
    private final Object[] unset; // each output column's value in a row nobody set it in
    private transient SensorStore store;

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
        toRulesAt = columns.get("to_rules");
        firstAt = columns.get("first_of_sensor");
        firstInStateAt = columns.get("first_in_state");
        firstInWindowAt = columns.get("first_in_window");
        newSensorAt = columns.get("new_sensor");
        duplicateKindAt = columns.get("duplicate_kind");
        keptAt = columns.get("kept_temperature");
        findingsAt = columns.get("findings");
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
        store = new SensorStore(getHandle(), rules);
    }

    static long micros(Timestamp t) {
        return Math.floorDiv(t.getTime(), 1000) * 1_000_000 + t.getNanos() / 1000;
    }

    static Timestamp timestamp(long micros) {
        Timestamp t = new Timestamp(Math.floorDiv(micros, 1_000_000) * 1000);
        t.setNanos((int) Math.floorMod(micros, 1_000_000) * 1000);
        return t;
    }

    /** The rows of one sensor's call: a row per input row, the rows of judged readings with a
     * finding, and the rows of findings of other readings (a silence, a level shift's start). */
    private final class Out implements Findings.Judgements {
        final List<Object[]> rows = new ArrayList<>(); // made into Rows when the call ends
        final String key;
        final Timestamp now; // the batch's time
        Object[] current; // the row set() writes to: an input row's, or a judged reading's
        // The reading being judged, whose row is made when a rule first finds something of it
        // (or sets a column of it).
        String judgingState, judgingReason;
        long judgingWhen;
        double judgingValue;

        Out(String key, TimerValues timers) {
            this.key = key;
            this.now = new Timestamp(timers.getCurrentProcessingTimeInMs());
        }

        /** Starts the row of an input row, with the contract's columns. */
        Object[] start(Row in, String kind, boolean late, boolean toRules, boolean first,
                       boolean firstInState, boolean firstInWindow, boolean isNew) {
            Object[] v = unset.clone();
            for (int i = 0; i < in.length(); i++) v[i] = in.get(i);
            v[kindAt] = kind;
            v[lateAt] = late;
            v[toRulesAt] = toRules;
            v[firstAt] = first;
            v[firstInStateAt] = firstInState;
            v[firstInWindowAt] = firstInWindow;
            v[newSensorAt] = isNew;
            current = v;
            return v;
        }

        /** Ends the input row begun last (set() then goes to a judged reading's row). */
        void end() {
            rows.add(current);
            current = null;
        }

        scala.collection.Iterator<Row> result() {
            return CollectionConverters.asScala(rows.stream().map(this::row).iterator());
        }

        /** A row as Spark takes it: the findings as a Scala sequence. */
        @SuppressWarnings("unchecked")
        Row row(Object[] v) {
            if (v[findingsAt] != null) {
                v[findingsAt] = CollectionConverters.asScala((List<Row>) v[findingsAt]).toSeq();
            }
            return RowFactory.create(v);
        }

        @Override
        public void judging(String readingState, long when, double value, String bandReason) {
            current = null;
            judgingState = readingState;
            judgingWhen = when;
            judgingValue = value;
            judgingReason = bandReason;
        }

        /** The row set() and find() write to: an input row's, or the judged reading's (made
         * when a rule first says something of it). */
        private Object[] current() {
            if (current == null) {
                current = base(Contract.JUDGED, judgingState, judgingWhen, judgingValue);
                current[reason] = judgingReason;
                rows.add(current);
            }
            return current;
        }

        @Override
        public void set(String column, Object value) {
            current()[columns.get(column)] = value;
        }

        @Override
        public void find(String detector, String why, double score) {
            add(current(), detector, why, score);
        }

        @Override
        public void findAt(String detector, String sensorState, long when, double value, String why,
                           double score) {
            Object[] v = base(Contract.JUDGED, sensorState, when, value);
            rows.add(v);
            add(v, detector, why, score);
        }

        @SuppressWarnings("unchecked")
        private void add(Object[] row, String detector, String why, double score) {
            if (row[findingsAt] == null) row[findingsAt] = new ArrayList<Row>(1);
            ((List<Row>) row[findingsAt]).add(RowFactory.create(detector, why, score));
        }

        private Object[] base(String kind, String sensorState, long when, double value) {
            Object[] v = unset.clone();
            v[batchTime] = now;
            v[guid] = key;
            v[state] = sensorState;
            v[time] = timestamp(when);
            v[temperature] = value;
            v[kindAt] = kind;
            return v;
        }
    }

    @Override
    public scala.collection.Iterator<Row> handleInputRows(
            String key, scala.collection.Iterator<Row> rows, TimerValues timers) {
        Out out = new Out(key, timers);
        if (key.startsWith(SensorStep.UNUSABLE)) { // passed through as they come, not held
            return rows.map(r -> {
                out.start(r, Contract.QUARANTINED, false, false, false, false, false, false);
                return out.row(out.current);
            });
        }
        List<Row> in = new ArrayList<>();
        while (rows.hasNext()) in.add(rows.next());
        in.sort(Comparator.<Row>comparingLong(r -> micros(r.getTimestamp(time)))
                .thenComparingInt(r -> r.getInt(partition))
                .thenComparingLong(r -> r.getLong(offset)));
        long now = SensorStep.clockMicros(); // the event-time clock; NONE: none yet
        long judgedBefore = SensorStep.judgedBeforeMicros(); // the batch before's rules' clock
        long judgedUntil = SensorStep.judgedUntilMicros(); // this batch's
        boolean clocked = now != Sensor.NONE;
        Sensor m = store.load();
        boolean known = m != null;
        if (!known) m = new Sensor(rules);
        if (clocked) m.closeWindows(windowMicros, restateMicros, now);
        // What the clock before allowed (a timer not yet fired): judged before this batch's.
        if (judgedBefore != Sensor.NONE) m.release(rules, judgedBefore, ttlMicros, out);
        Set<String> states = new HashSet<>(2);
        List<Object[]> held = new ArrayList<>();
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
                out.start(r, Contract.DUPLICATE, false, false, false, false, false, false);
                out.current[duplicateKindAt] =
                        r.getDouble(temperature) == kept ? Contract.RESEND : Contract.CONFLICT;
                out.current[keptAt] = kept;
                out.end();
                continue;
            }
            boolean firstInState = states.add(r.getString(state));
            boolean isNew = first && !known;
            if (late) { // kept out of the rules: they have judged readings after it
                boolean restates = start + windowMicros > now - restateMicros;
                out.start(r, Contract.READING, true, false, first, firstInState,
                          restates && m.firstInWindow(start), isNew);
                aside(r, when, out);
            } else {
                double value = r.getDouble(temperature);
                boolean toRules = m.judgeable(when, judgedBefore);
                out.start(r, Contract.READING, false, toRules, first, firstInState,
                          m.firstInWindow(start), isNew);
                if (toRules) {
                    held.add(out.current);
                    m.hold(when, value, r.getString(state), r.isNullAt(reason) ? null : r.getString(reason));
                } else {
                    aside(r, when, out);
                }
                if (!adjusted) m.remember(when, value);
            }
            out.end();
            first = false;
        }
        // The rules' annotations of the readings that came (zscore's band), from what they had
        // judged when they came: up to the rules' clock the batch before left.
        for (Object[] row : held) {
            out.current = row;
            m.annotate(rules, (Double) row[temperature], out);
        }
        out.current = null;
        if (judgedUntil != Sensor.NONE) m.release(rules, judgedUntil, ttlMicros, out);
        setTimer(m, judgedUntil, timers);
        store.save(m);
        return out.result();
    }

    /** What each rule says of a reading kept out of the rules, alone (Rule.aside). */
    private void aside(Row r, long when, Out out) {
        String band = r.isNullAt(reason) ? null : r.getString(reason);
        double value = r.getDouble(temperature);
        Reading alone = new Reading(r.getString(state), when, value, band, !Contract.IMPOSSIBLE.equals(band),
                                    false, Sensor.NONE, Double.NaN, null);
        for (Rule<?> rule : rules) rule.aside(alone, out);
    }

    /** Moves the sensor's one timer to when it is next due (Sensor.dueMs), if that changed;
     * never to Spark's watermark or before (such a timer would fire again in this batch). */
    private void setTimer(Sensor m, long judgedUntil, TimerValues timers) {
        long watermark = timers.getCurrentWatermarkInMs();
        long due = m.dueMs(rules, ttlMicros, judgedUntil, watermark);
        if (due != Sensor.NONE) due = Math.max(due, watermark + 1);
        if (due == m.timer) return;
        if (m.timer != Sensor.NONE) getHandle().deleteTimer(m.timer);
        if (due != Sensor.NONE) getHandle().registerTimer(due);
        m.timer = due;
    }

    @Override
    public scala.collection.Iterator<Row> handleExpiredTimer(
            String key, TimerValues timers, ExpiredTimerInfo expired) {
        Out out = new Out(key, timers);
        Sensor m = store.load();
        if (m == null) return out.result();
        m.timer = Sensor.NONE; // it fired: Spark has dropped it
        long now = SensorStep.clockMicros();
        long judgedUntil = SensorStep.judgedUntilMicros();
        if (now != Sensor.NONE) m.closeWindows(windowMicros, restateMicros, now);
        if (judgedUntil != Sensor.NONE) m.release(rules, judgedUntil, ttlMicros, out);
        setTimer(m, judgedUntil, timers);
        store.save(m);
        return out.result();
    }
}
