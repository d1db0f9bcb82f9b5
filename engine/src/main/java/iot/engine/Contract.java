package iot.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

/**
 * The contract with the Python job, read from {@code step_contract.json} (the job's
 * jobs/iotstream/step_contract.json, packed into the jar by engine/pom.xml): the columns the step
 * takes and adds, the kinds of its rows, and how the clocks reach it. Declared there once; this
 * class only reads it.
 */
public final class Contract {
    private static final JsonNode JSON = load();
    /** The type of the findings column: an array of (detector, reason, score). */
    public static final DataType FINDINGS = DataTypes.createArrayType(DataTypes.createStructType(List.of(
            DataTypes.createStructField("detector", DataTypes.StringType, false),
            DataTypes.createStructField("reason", DataTypes.StringType, true),
            DataTypes.createStructField("score", DataTypes.DoubleType, false))), false);


    public static final List<String> INPUT = names(JSON.get("input"));
    public static final List<StructField> OUTPUT = fields(JSON.get("output"));
    public static final String READING = kind("reading");
    public static final String QUARANTINED = kind("quarantined");
    public static final String DUPLICATE = kind("duplicate");
    public static final String JUDGED = kind("judged");
    public static final String RESEND = JSON.get("duplicate_kinds").get("same").asText();
    public static final String CONFLICT = JSON.get("duplicate_kinds").get("differs").asText();
    /** The band rule's reason for a value no air temperature can have. */
    public static final String IMPOSSIBLE = JSON.get("impossible_reason").asText();
    public static final String CLOCK_PROPERTY = JSON.get("clock").get("property").asText();
    public static final String JUDGED_UNTIL_PROPERTY = JSON.get("clock").get("judged_until_property").asText();
    public static final String JUDGED_BEFORE_PROPERTY = JSON.get("clock").get("judged_before_property").asText();
    public static final String END_PROPERTY = JSON.get("clock").get("end_property").asText();
    public static final String WATERMARK_FUNCTION = JSON.get("clock").get("function").asText();
    public static final String MODEL_PROPERTY = JSON.get("model").get("property").asText();

    private Contract() {}

    private static JsonNode load() {
        try (InputStream in = Contract.class.getResourceAsStream("step_contract.json")) {
            if (in == null) throw new IllegalStateException("step_contract.json is not in the engine jar");
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String kind(String name) {
        return JSON.get("kinds").get(name).asText();
    }

    private static List<String> names(JsonNode columns) {
        List<String> out = new ArrayList<>();
        for (JsonNode c : columns) out.add(c.get("name").asText());
        return List.copyOf(out);
    }

    private static List<StructField> fields(JsonNode columns) {
        List<StructField> out = new ArrayList<>();
        for (JsonNode c : columns) {
            out.add(DataTypes.createStructField(c.get("name").asText(), type(c.get("type").asText()),
                                                c.path("nullable").asBoolean(true)));
        }
        return List.copyOf(out);
    }

    static DataType type(String name) {
        return switch (name) {
            case "string" -> DataTypes.StringType;
            case "boolean" -> DataTypes.BooleanType;
            case "double" -> DataTypes.DoubleType;
            case "int" -> DataTypes.IntegerType;
            case "long" -> DataTypes.LongType;
            case "timestamp" -> DataTypes.TimestampType;
            case "findings" -> FINDINGS;
            default -> throw new IllegalStateException("step_contract.json: unknown type " + name);
        };
    }
}
