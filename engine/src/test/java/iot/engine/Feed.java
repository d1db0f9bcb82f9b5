package iot.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** One sensor fed reading by reading as the step feeds it to its rules (in event-time order, the
 * rules' clock at each reading), its findings as (detector, ...) rows. */
final class Feed implements Findings.Judgements {
    static final long T0 = Instant.parse("2026-01-01T00:00:00Z").toEpochMilli() * 1000;

    /** A finding: which detector, of which reading (state, event time in seconds after T0,
     * value), its reason and score. */
    record Found(String detector, String state, double at, double value, String reason, double score) {}

    final List<Rule<?>> rules;
    Sensor sensor;
    private final Map<String, Object> columns = new HashMap<>();
    private final List<Found> judged = new ArrayList<>(); // of the reading being judged
    private final List<Found> rows = new ArrayList<>(); // of other readings, not yet in found
    private final List<Found> found = new ArrayList<>();
    private String judgingState; // the reading being judged (null: none)
    private long judgingWhen;
    private double judgingValue;

    final Settings settings;
    private final double physicalMin, physicalMax; // conf/job.toml's [anomalies]: impossible beyond

    Feed(String settingsJson) {
        settings = Settings.parse(settingsJson);
        rules = RuleRegistry.rules(settings);
        JsonNode anomalies = toml().path("anomalies");
        physicalMin = anomalies.path("physical_min").asDouble();
        physicalMax = anomalies.path("physical_max").asDouble();
        sensor = new Sensor(rules);
    }

    /**
     * The step's settings as the job hands them over, from conf/job.toml ([windows],
     * [detectors] and its tables), with {@code overrides} such as "zscore.threshold=4" (a
     * detector's setting) or "sensor_ttl_seconds=600" (a JSON value after the '=').
     */
    /** conf/job.toml, as the job reads it. */
    static JsonNode toml() {
        try {
            return new TomlMapper().readTree(Path.of("..", "conf", "job.toml").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The TTL of this feed's settings (µs). */
    long ttlMicros() {
        return settings.micros("sensor_ttl_seconds");
    }

    static String settings(String... overrides) {
        try {
            JsonNode toml = toml();
            ObjectMapper json = new ObjectMapper();
            ObjectNode settings = json.createObjectNode();
            settings.set("window_seconds", toml.path("windows").path("length_seconds"));
            settings.set("restate_horizon_seconds", toml.path("windows").path("restate_horizon_seconds"));
            settings.set("sensor_ttl_seconds", toml.path("detectors").path("sensor_ttl_seconds"));
            settings.putObject("bands").putArray("CA").add(50.0).add(80.0);
            ObjectNode detectors = settings.putObject("detectors");
            toml.path("detectors").fields().forEachRemaining(e -> { // three_sigma is the job's
                if (e.getValue().isObject() && !e.getKey().equals("three_sigma")) detectors.set(e.getKey(), e.getValue());
            });
            for (String o : overrides) {
                String[] kv = o.split("=", 2);
                String[] path = kv[0].split("\\.");
                ObjectNode table = path.length == 1 ? settings : (ObjectNode) detectors.get(path[0]);
                table.set(path[path.length - 1], json.readTree(kv[1]));
            }
            return json.writeValueAsString(settings);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** As the Python tests of the detectors: zscore's threshold 4 (small hand-made numbers),
     * TTL 600 s, rate_of_change off (its tests turn it on: its jumps are in every other test's
     * numbers); the rest as conf/job.toml. */
    static Feed standard(String... more) {
        List<String> overrides = new ArrayList<>(List.of("zscore.threshold=4.0", "sensor_ttl_seconds=600",
                                                         "rate_of_change.enabled=false"));
        overrides.addAll(List.of(more));
        return new Feed(settings(overrides.toArray(new String[0])));
    }

    static long at(double seconds) {
        return T0 + Math.round(seconds * 1e6);
    }

    /** One reading at {@code seconds} after T0, observed by the rules now → what it raised. */
    List<Found> observe(String state, double seconds, double value, String band) {
        found.clear();
        String reason = reason(value, band);
        judging(state, at(seconds), value, reason);
        sensor.observe(rules, state, at(seconds), value, reason, this);
        flush();
        return new ArrayList<>(found);
    }

    private String reason(double value, String band) {
        return band != null ? band : value < physicalMin || value > physicalMax ? Contract.IMPOSSIBLE : null;
    }

    /** Holds one reading at {@code seconds} after T0 for the rules, as the step does on arrival
     * when it is judgeable (returns whether it was). */
    boolean hold(double seconds, double value) {
        if (!sensor.judgeable(at(seconds), Sensor.NONE)) return false;
        sensor.hold(at(seconds), value, "CA", reason(value, null));
        return true;
    }

    /** The rules' clock reaches {@code seconds} after T0: what the held readings up to it and
     * the time since raised. */
    List<Found> release(double seconds) {
        found.clear();
        judgingState = null;
        sensor.release(rules, at(seconds), ttlMicros(), this);
        flush();
        return new ArrayList<>(found);
    }

    /** The findings of the reading being judged first, then those of other readings. */
    private void flush() {
        found.addAll(judged);
        found.addAll(rows);
        judged.clear();
        rows.clear();
        judgingState = null;
    }

    /** Readings {@code step} seconds apart from {@code start}, in CA → what they raised. */
    List<Found> feed(double start, double step, double... values) {
        List<Found> out = new ArrayList<>();
        for (int i = 0; i < values.length; i++) out.addAll(observe("CA", start + i * step, values[i], null));
        return out;
    }

    /** A column of its own the last observed (or annotated) reading's row got from a rule
     * (null: none). */
    Object column(String name) {
        return columns.get(name);
    }

    /** The rules' clock is at {@code seconds} after T0 with nothing held: what the rules conclude. */
    List<Found> expire(double seconds) {
        return release(seconds);
    }

    <S> S slice(String rule) {
        return sensor.slice(RuleRegistry.indexOf(rules, rule));
    }

    ZScoreRule.State zscore() {
        return slice("zscore");
    }

    double[] history() {
        return zscore().history();
    }

    @Override
    public void judging(String state, long when, double value, String reason) {
        flush();
        columns.clear();
        judgingState = state;
        judgingWhen = when;
        judgingValue = value;
    }

    @Override
    public void set(String column, Object value) {
        columns.put(column, value);
    }

    @Override
    public void find(String detector, String reason, double score) {
        judged.add(new Found(detector, judgingState, (judgingWhen - T0) / 1e6, judgingValue, reason, score));
    }

    @Override
    public void findAt(String detector, String state, long when, double value, String reason, double score) {
        rows.add(new Found(detector, state, (when - T0) / 1e6, value, reason, score));
    }
}
