package iot.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoublePredicate;

/**
 * Settings by name, as the job hands them over: one JSON object (step_contract.json's
 * "settings": window_seconds, restate_horizon_seconds, sensor_ttl_seconds, the bands, and each
 * per-sensor detector's table under "detectors", keyed as in conf/job.toml).
 *
 * <p>A rule declares its settings where it reads them, in its constructor, from its own table
 * ({@link #detector}): each with its default and what it must be. This is the one place a
 * setting is checked: an error names the conf/job.toml key ({@code [detectors.stuck] repeats
 * must be ...}). What every rule read, defaults included, is {@link #resolved}; a table no rule
 * read, or a key in one no rule read, is an error too ({@link #unread}).
 */
public final class Settings implements Serializable {
    private static final long serialVersionUID = 2L;
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String json; // kept as text: JsonNode is not Serializable
    private final String table; // the detector's name; null for the top level
    private transient JsonNode node;
    private transient Map<String, Settings> tables; // the top level's: every table read
    private transient ObjectNode resolved; // what was read, defaults included

    private Settings(String json, JsonNode node, String table) {
        this.json = json;
        this.node = node;
        this.table = table;
    }

    public static Settings parse(String json) {
        try {
            JsonNode node = JSON.readTree(json);
            if (node == null || !node.isObject()) throw new IllegalArgumentException("the step's settings must be a JSON object");
            return new Settings(json, node, null);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the step's settings are not JSON: " + e.getMessage(), e);
        }
    }

    private JsonNode node() {
        if (node == null) node = parse(json).node;
        return node;
    }

    private ObjectNode resolvedNode() {
        if (resolved == null) resolved = JSON.createObjectNode();
        return resolved;
    }

    /** The table of one detector ([detectors.name]), the same object every time it is asked. */
    public Settings detector(String name) {
        if (tables == null) tables = new LinkedHashMap<>();
        return tables.computeIfAbsent(name, n -> {
            JsonNode t = node().path("detectors").path(n);
            return new Settings(t.toString(), t.isObject() ? t : JSON.createObjectNode(), n);
        });
    }

    private String key(String key) {
        return table == null ? key : "[detectors." + table + "] " + key;
    }

    private JsonNode value(String key) {
        JsonNode v = node().get(key);
        return v == null || v.isNull() ? null : v;
    }

    private IllegalArgumentException wrong(String key, String must, JsonNode v) {
        return new IllegalArgumentException(key(key) + " must be " + must + ", not " + v);
    }

    /** A required top-level setting the job always hands over. */
    private JsonNode required(String key) {
        JsonNode v = value(key);
        if (v == null) throw new IllegalArgumentException("missing setting " + key(key));
        return v;
    }

    public boolean flag(String key, boolean otherwise) {
        JsonNode v = value(key);
        if (v != null && !v.isBoolean()) throw wrong(key, "true or false", v);
        boolean out = v == null ? otherwise : v.asBoolean();
        resolvedNode().put(key, out);
        return out;
    }

    /** A number, {@code otherwise} when not set; {@code ok} says what it may be, {@code must}
     * says so in words ("> 0"). */
    public double number(String key, double otherwise, DoublePredicate ok, String must) {
        JsonNode v = value(key);
        if (v != null && !v.isNumber()) throw wrong(key, "a number " + must, v);
        double out = v == null ? otherwise : v.asDouble();
        if (!ok.test(out)) throw wrong(key, must, v == null ? JSON.getNodeFactory().numberNode(out) : v);
        resolvedNode().put(key, out);
        return out;
    }

    /** A whole number of at least {@code min}, {@code otherwise} when not set. */
    public int count(String key, int otherwise, int min) {
        JsonNode v = value(key);
        if (v != null && (!v.isIntegralNumber() || !v.canConvertToInt())) throw wrong(key, "a whole number", v);
        int out = v == null ? otherwise : v.asInt();
        if (out < min) throw wrong(key, ">= " + min, JSON.getNodeFactory().numberNode(out));
        resolvedNode().put(key, out);
        return out;
    }

    /** Text, {@code otherwise} when not set (the rule does not use it: the job does). */
    public String text(String key, String otherwise) {
        JsonNode v = value(key);
        if (v != null && !v.isTextual()) throw wrong(key, "text", v);
        String out = v == null ? otherwise : v.asText();
        resolvedNode().put(key, out);
        return out;
    }

    /** A required top-level number. */
    public double number(String key) {
        JsonNode v = required(key);
        if (!v.isNumber()) throw wrong(key, "a number", v);
        return v.asDouble();
    }

    /** A required top-level setting in seconds, as microseconds. */
    public long micros(String key) {
        return Math.round(number(key) * 1e6);
    }

    /** A required top-level object (the bands). */
    public JsonNode object(String key) {
        JsonNode v = required(key);
        if (!v.isObject()) throw wrong(key, "an object", v);
        return v;
    }

    /** Every table the rules read, with what they read (defaults included), as JSON. */
    public String resolved() {
        ObjectNode out = JSON.createObjectNode();
        if (tables != null) tables.forEach((name, t) -> out.set(name, t.resolvedNode()));
        return out.toString();
    }

    /** What was handed over that no rule read: a detector no rule is, a key no rule knows
     * (empty: nothing). Asked once every rule is made. */
    public List<String> unread() {
        List<String> out = new ArrayList<>();
        JsonNode detectors = node().path("detectors");
        detectors.fieldNames().forEachRemaining(name -> {
            Settings t = tables == null ? null : tables.get(name);
            if (t == null) {
                out.add("[detectors." + name + "] is no detector of the engine (it has "
                        + String.join(", ", tables == null ? List.of() : tables.keySet()) + ")");
                return;
            }
            t.node().fieldNames().forEachRemaining(key -> {
                if (!t.resolvedNode().has(key)) {
                    List<String> known = new ArrayList<>();
                    t.resolvedNode().fieldNames().forEachRemaining(known::add);
                    out.add(t.key(key) + " is no setting (it has " + String.join(", ", known) + ")");
                }
            });
        });
        return out;
    }
}
