package iot.engine;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** One sensor fed reading by reading as the step feeds it, its findings as (detector, ...) rows. */
final class Feed implements Findings {
    static final long T0 = Instant.parse("2026-01-01T00:00:00Z").toEpochMilli() * 1000;

    /** A finding: which detector, of which reading (state, event time in seconds after T0,
     * value), its reason and score. */
    record Found(String detector, String state, double at, double value, String reason, double score) {}

    final List<Rule<?>> rules;
    Sensor sensor;
    private final Map<String, Object> columns = new HashMap<>();
    private final List<Found> rows = new ArrayList<>();

    Feed(String settingsJson) {
        rules = RuleRegistry.rules(Settings.parse(settingsJson));
        sensor = new Sensor(rules);
    }

    /** Defaults of the Python tests: zscore threshold 4, TTL 600 s; the others as job.toml. */
    static String settings(String zscore, String stuck, String silent, String shift) {
        return "{\"window_seconds\": 60, \"restate_horizon_seconds\": 3600, \"sensor_ttl_seconds\": 600,"
                + " \"detectors\": {\"band\": {\"enabled\": true},"
                + " \"zscore\": {\"enabled\": true, \"history\": 30, \"min_history\": 10, \"threshold\": 4.0,"
                + " \"min_sigma\": 0.5" + zscore + "},"
                + " \"stuck\": {\"enabled\": true, \"repeats\": 10" + stuck + "},"
                + " \"silent\": {\"enabled\": true, \"after_seconds\": 120" + silent + "},"
                + " \"level_shift\": {\"enabled\": true, \"readings\": 10" + shift + "}}}";
    }

    static Feed standard() {
        return new Feed(settings("", "", "", ""));
    }

    static long at(double seconds) {
        return T0 + Math.round(seconds * 1e6);
    }

    /** One reading at {@code seconds} after T0 → what it raised. */
    List<Found> observe(String state, double seconds, double value, String band) {
        columns.clear();
        rows.clear();
        String reason = band != null ? band : value < -130 || value > 140 ? Contract.IMPOSSIBLE : null;
        sensor.observe(rules, state, at(seconds), value, reason, this);
        List<Found> out = new ArrayList<>();
        if (columns.containsKey("z_reason")) {
            out.add(new Found("zscore", state, seconds, value, (String) columns.get("z_reason"),
                              (Double) columns.get("z_score")));
        }
        if (columns.containsKey("stuck_score")) {
            out.add(new Found("stuck", state, seconds, value, "stuck", (Double) columns.get("stuck_score")));
        }
        if (Boolean.TRUE.equals(columns.get("band_new"))) out.add(new Found("band", state, seconds, value, reason, 0));
        out.addAll(rows);
        return out;
    }

    /** Readings {@code step} seconds apart from {@code start}, in CA → what they raised. */
    List<Found> feed(double start, double step, double... values) {
        List<Found> out = new ArrayList<>();
        for (int i = 0; i < values.length; i++) out.addAll(observe("CA", start + i * step, values[i], null));
        return out;
    }

    /** The timer fired with the clock at {@code seconds} after T0. */
    List<Found> expire(double seconds) {
        rows.clear();
        sensor.expire(rules, at(seconds), 600_000_000L, 60_000_000L, 3_600_000_000L, this);
        return new ArrayList<>(rows);
    }

    <S> S slice(String rule) {
        return sensor.slice(SensorCodec.indexOf(rules, rule));
    }

    ZScoreRule.State zscore() {
        return slice("zscore");
    }

    double[] history() {
        return zscore().history();
    }

    @Override
    public void set(String column, Object value) {
        columns.put(column, value);
    }

    @Override
    public void row(String kind, String state, long when, double value, Map<String, Object> values) {
        double at = (when - T0) / 1e6;
        if (kind.equals(Contract.SILENT)) {
            rows.add(new Found("silent", state, at, value, "silent", 0));
        } else if (kind.equals(Contract.SHIFT)) {
            rows.add(new Found("level_shift", state, at, value, (String) values.get("shift_direction"),
                               (Double) values.get("shift_size")));
        } else {
            rows.add(new Found(kind, state, at, value, null, 0));
        }
    }
}
