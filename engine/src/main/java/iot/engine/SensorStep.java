package iot.engine;

import java.sql.Timestamp;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.streaming.TimeMode;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Entry point from PySpark: {@code SensorStep.apply(records, settingsJson)} on the job's
 * streaming DataFrame of parsed records. It takes the columns step_contract.json's "input" names
 * ({@link Contract#INPUT}); every other column is passed through. It adds the contract's
 * "output" columns, then each rule's ({@link RuleRegistry}). The query needs an event-time
 * watermark upstream (on a column the step's input no longer has, so that Spark drops no late
 * row: the step marks them instead) and the RocksDB state store provider, as Spark's
 * transformWithState requires.
 *
 * <p>The clocks are the driver's (judged per Kafka partition, windows.py): before it runs a
 * batch's jobs, the driver sets them as local properties (µs since the epoch; empty for none
 * yet), which Spark hands to every task of those jobs: the event-time clock
 * ({@link Contract#CLOCK_PROPERTY}), by which the step judges late readings, closes windows and
 * forgets re-sends; the rules' clock ({@link Contract#JUDGED_UNTIL_PROPERTY}), up to which
 * the rules judge each sensor's readings, the batch's own included (the driver knows it before
 * the batch runs, from the last record the batch reads from each partition); and the rules'
 * clock the batch before left ({@link Contract#JUDGED_BEFORE_PROPERTY}), behind which a reading
 * is kept out of the rules. The SQL function {@link Contract#WATERMARK_FUNCTION}
 * returns the rules' clock, and the query's watermark is defined on that column, so Spark's
 * watermark (which fires the step's timers) follows it, one batch behind. In the batch that
 * reaches the end of the input ({@link Contract#END_PROPERTY}), the function returns the latest
 * event time read instead: the watermark then passes every reading, and the batch after it (a
 * batch with no data, which Spark runs for the timers) judges every sensor's last readings.
 */
public final class SensorStep {
    /** Keys of records that are not usable start with this (no sensor's guid does). */
    static final String UNUSABLE = "\u0000";

    private SensorStep() {}

    /** The event-time clock the driver set for the running task's batch (µs), or NONE. */
    static long clockMicros() {
        return property(Contract.CLOCK_PROPERTY);
    }

    /** The rules' clock the driver set for the running task's batch (µs), or NONE. */
    static long judgedUntilMicros() {
        return property(Contract.JUDGED_UNTIL_PROPERTY);
    }

    /** The rules' clock the batch before left (µs), or NONE; the batch's own when the driver set
     * none: a reading behind it is kept out of the rules. */
    static long judgedBeforeMicros() {
        TaskContext task = TaskContext.get();
        String value = task == null ? null : task.getLocalProperty(Contract.JUDGED_BEFORE_PROPERTY);
        return value == null ? judgedUntilMicros() : property(Contract.JUDGED_BEFORE_PROPERTY);
    }

    private static long property(String name) {
        TaskContext task = TaskContext.get();
        String value = task == null ? null : task.getLocalProperty(name);
        return value == null || value.isEmpty() ? Sensor.NONE : Long.parseLong(value);
    }

    /** What the query's watermark column holds for a record of the given event time: the rules'
     * clock. In the batch that reaches the end of the input, and in the first batch (no clock
     * yet), the latest event time read so far: Spark's watermark then moves after the batch, so
     * a batch without records follows if no more come, in which the step's timers fire. */
    static Timestamp watermark(Timestamp eventTime) {
        long until = judgedUntilMicros();
        TaskContext task = TaskContext.get();
        String end = task == null ? null : task.getLocalProperty(Contract.END_PROPERTY);
        if (end != null || until == Sensor.NONE) {
            if (end != null && !end.isEmpty()) until = Math.max(until, Long.parseLong(end));
            if (eventTime != null) until = Math.max(until, SensorProcessor.micros(eventTime));
        }
        return until == Sensor.NONE ? null : SensorProcessor.timestamp(until);
    }

    /** Registers {@link Contract#WATERMARK_FUNCTION}(event_time) in the session (see
     * {@link #watermark}). Nondeterministic: Spark must evaluate it in every batch. */
    public static void register(SparkSession spark) {
        UserDefinedFunction clock = functions.udf(
                (UDF1<Timestamp, Timestamp>) SensorStep::watermark, DataTypes.TimestampType)
                .asNondeterministic();
        if (!spark.catalog().functionExists(Contract.WATERMARK_FUNCTION)) {
            spark.udf().register(Contract.WATERMARK_FUNCTION, clock);
        }
    }

    /** The step's output: the input's columns (nullable: a row of the step's own has only a
     * few), the contract's columns, then each rule's. */
    public static StructType outputSchema(StructType input, List<Rule<?>> rules) {
        StructType out = new StructType();
        for (var f : input.fields()) out = out.add(f.name(), f.dataType(), true);
        for (var f : Contract.OUTPUT) out = out.add(f);
        for (Rule<?> rule : rules) {
            for (Rule.Column c : rule.columns()) out = out.add(c.name(), Contract.type(c.type()), c.nullable());
        }
        return out;
    }

    /** The per-sensor step over {@code records}, with the settings the job hands over (JSON). */
    public static Dataset<Row> apply(Dataset<Row> records, String settingsJson) {
        Settings settings = Settings.parse(settingsJson);
        List<Rule<?>> rules = RuleRegistry.rules(settings);
        StructType schema = records.schema();
        for (String column : Contract.INPUT) {
            if (!List.of(schema.fieldNames()).contains(column)) {
                throw new IllegalArgumentException("the step's input has no column " + column
                        + " (step_contract.json); it has " + String.join(", ", schema.fieldNames()));
            }
        }
        int guid = schema.fieldIndex("guid");
        int usable = schema.fieldIndex("usable");
        int partition = schema.fieldIndex("kafka_partition");
        MapFunction<Row, String> key = r -> r.getBoolean(usable)
                ? r.getString(guid) : UNUSABLE + r.getInt(partition);
        return records.groupByKey(key, Encoders.STRING()).transformWithState(
                new SensorProcessor(schema, settings, rules), TimeMode.EventTime(),
                OutputMode.Append(), Encoders.row(outputSchema(schema, rules)));
    }
}
