package iot.engine;

import java.sql.Timestamp;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF0;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.streaming.TimeMode;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Entry point from PySpark: {@code SensorStep.apply(df._jdf, ...)} on the job's streaming
 * DataFrame of parsed records. It needs the columns guid, state, event_time, temperature, reason
 * (the band rule's, null for a normal reading), usable, kafka_partition, kafka_offset and
 * batch_time; every other column is passed through. The query needs an event-time watermark upstream (on a column
 * the step's input no longer has, so that Spark drops no late row: the step marks them instead)
 * and the RocksDB state store provider, as Spark's transformWithState requires.
 *
 * <p>The event-time clock is the driver's (judged per Kafka partition, windows.py): before it runs
 * a batch's jobs, the driver sets it as the local property {@link #CLOCK_PROPERTY} (µs since the
 * epoch; empty for none yet), which Spark hands to every task of those jobs. The step judges
 * late readings, closes windows and forgets re-sends by it; the SQL function {@link #CLOCK_FUNCTION}
 * returns it, and the query's watermark is defined on that column, so Spark's watermark (which
 * fires the step's timers) follows the same clock, one batch behind.
 */
public final class SensorStep {
    /** Keys of records that are not usable start with this (no sensor's guid does). */
    static final String UNUSABLE = "\u0000";
    static final String[] EXTRA = {"kind", "late", "first_of_sensor", "first_in_state",
        "first_in_window", "new_sensor", "z_reason", "z_score", "stuck_score", "detail",
        "detail_score", "band_new", "z_mean", "z_sigma"};

    public static final String CLOCK_PROPERTY = "iot.clock";
    public static final String CLOCK_FUNCTION = "iot_clock";

    private SensorStep() {}

    /** The clock the driver set for the running task's batch (µs), or NONE outside of one. */
    static long clockMicros() {
        TaskContext task = TaskContext.get();
        String value = task == null ? null : task.getLocalProperty(CLOCK_PROPERTY);
        return value == null || value.isEmpty() ? SensorModel.NONE : Long.parseLong(value);
    }

    /** Registers {@link #CLOCK_FUNCTION}() in the session: the batch's clock as a timestamp
     * (null before the first). Nondeterministic: Spark must evaluate it in every batch. */
    public static void register(SparkSession spark) {
        UserDefinedFunction clock = functions.udf((UDF0<Timestamp>) () -> {
            long micros = clockMicros();
            return micros == SensorModel.NONE ? null : SensorProcessor.timestamp(micros);
        }, DataTypes.TimestampType).asNondeterministic();
        if (!spark.catalog().functionExists(CLOCK_FUNCTION)) spark.udf().register(CLOCK_FUNCTION, clock);
    }

    /** The step's output: the input's columns (nullable: a silent row has only a few), then EXTRA. */
    public static StructType outputSchema(StructType input) {
        StructType out = new StructType();
        for (var f : input.fields()) out = out.add(f.name(), f.dataType(), true); // silent rows
        return out.add("kind", DataTypes.StringType, false)
                .add("late", DataTypes.BooleanType, false)
                .add("first_of_sensor", DataTypes.BooleanType, false)
                .add("first_in_state", DataTypes.BooleanType, false)
                .add("first_in_window", DataTypes.BooleanType, false)
                .add("new_sensor", DataTypes.BooleanType, false)
                .add("z_reason", DataTypes.StringType)
                .add("z_score", DataTypes.DoubleType)
                .add("stuck_score", DataTypes.DoubleType)
                .add("detail", DataTypes.StringType) // duplicate: resend/conflict; shift: up/down
                .add("detail_score", DataTypes.DoubleType) // the kept value; the shift's size
                .add("band_new", DataTypes.BooleanType, false) // out of band, unlike the one before
                .add("z_mean", DataTypes.DoubleType) // what zscore scored the reading against
                .add("z_sigma", DataTypes.DoubleType);
    }

    public static Dataset<Row> apply(Dataset<Row> records, Rules rules) {
        StructType schema = records.schema();
        int guid = schema.fieldIndex("guid");
        int usable = schema.fieldIndex("usable");
        int partition = schema.fieldIndex("kafka_partition");
        MapFunction<Row, String> key = r -> r.getBoolean(usable)
                ? r.getString(guid) : UNUSABLE + r.getInt(partition);
        return records.groupByKey(key, Encoders.STRING()).transformWithState(
                new SensorProcessor(schema, rules), TimeMode.EventTime(), OutputMode.Append(),
                Encoders.row(outputSchema(schema)));
    }

    /** The settings, built from Python (py4j calls a constructor with boxed arguments). */
    public static Rules rules(long windowMicros, boolean zscore, int history, int minHistory,
                              double threshold, double minSigma, boolean stuck, int repeats,
                              boolean silent, long silentMicros, long ttlMicros,
                              boolean levelShift, int shiftReadings, long restateMicros) {
        return new Rules(windowMicros, zscore, history, minHistory, threshold, minSigma, stuck,
                repeats, silent, silentMicros, ttlMicros, levelShift, shiftReadings, restateMicros);
    }
}
