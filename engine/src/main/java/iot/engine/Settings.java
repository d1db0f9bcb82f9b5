package iot.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Serializable;

/**
 * Settings by name, as the job hands them over: one JSON object (step_contract.json's
 * "settings": window_seconds, restate_horizon_seconds, sensor_ttl_seconds, and each detector's
 * table under "detectors", keyed as in conf/job.toml). A rule reads its own table with
 * {@link #detector}. A missing or mistyped setting is an error naming it.
 */
public final class Settings implements Serializable {
    private static final long serialVersionUID = 1L;
    private final String json; // kept as text: JsonNode is not Serializable
    private final String where;
    private transient JsonNode node;

    private Settings(String json, JsonNode node, String where) {
        this.json = json;
        this.node = node;
        this.where = where;
    }

    public static Settings parse(String json) {
        try {
            JsonNode node = new ObjectMapper().readTree(json);
            if (node == null || !node.isObject()) throw new IllegalArgumentException("the step's settings must be a JSON object");
            return new Settings(json, node, "");
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the step's settings are not JSON: " + e.getMessage(), e);
        }
    }

    private JsonNode node() {
        if (node == null) node = parse(json).node;
        return node;
    }

    /** The table of one detector ([detectors.name]); empty (every setting missing) if none. */
    public Settings detector(String name) {
        JsonNode table = node().path("detectors").path(name);
        return new Settings(table.toString(), table.isObject() ? table : new ObjectMapper().createObjectNode(),
                            "detectors." + name + ".");
    }

    private JsonNode value(String key) {
        JsonNode v = node().get(key);
        if (v == null || v.isNull()) throw new IllegalArgumentException("missing setting " + where + key);
        return v;
    }

    public boolean flag(String key) {
        JsonNode v = value(key);
        if (!v.isBoolean()) throw new IllegalArgumentException(where + key + " must be true or false, not " + v);
        return v.asBoolean();
    }

    public double number(String key) {
        JsonNode v = value(key);
        if (!v.isNumber()) throw new IllegalArgumentException(where + key + " must be a number, not " + v);
        return v.asDouble();
    }

    public int count(String key) {
        JsonNode v = value(key);
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException(where + key + " must be a whole number, not " + v);
        }
        return v.asInt();
    }

    /** A setting in seconds, as microseconds. */
    public long micros(String key) {
        return Math.round(number(key) * 1e6);
    }
}
