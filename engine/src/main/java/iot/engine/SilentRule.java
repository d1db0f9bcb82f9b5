package iot.engine;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * silent: a sensor that reported before and then sent nothing for {@code after_seconds} of event
 * time, reported once: when its timer fires (Spark's watermark past that point) or when it comes
 * back, whichever is first, as a row of kind silent carrying its last reading.
 */
final class SilentRule implements Rule<SilentRule.State> {
    private static final long serialVersionUID = 1L;
    private final boolean enabled;
    private final long afterMicros;

    /** A sensor's slice: whether its present silence is reported. */
    static final class State {
        boolean reported;
    }

    SilentRule(Settings settings) {
        Settings s = settings.detector("silent");
        enabled = s.flag("enabled");
        afterMicros = s.micros("after_seconds");
        // Below the TTL: the sensor's one timer fires at the earlier of the two (Sensor.dueMs).
        if (afterMicros <= 0 || afterMicros >= settings.micros("sensor_ttl_seconds")) {
            throw new IllegalArgumentException(
                    "silent after_seconds must be > 0 and below [detectors] sensor_ttl_seconds");
        }
    }

    @Override public String name() { return "silent"; }
    @Override public List<Column> columns() { return List.of(); }
    @Override public State fresh() { return new State(); }
    @Override public int version() { return 1; }

    @Override
    public void observe(State s, Reading r, Findings out) {
        long before = r.previousTime();
        if (before != Sensor.NONE && r.when() > before && enabled && !s.reported
                && r.when() - before > afterMicros) {
            out.row(Contract.SILENT, r.previousState(), before, r.previousValue(), Map.of());
        }
        if (before == Sensor.NONE || r.when() > before) s.reported = false;
    }

    @Override
    public long dueMicros(State s, Sensor sensor) {
        return enabled && !s.reported ? sensor.lastTime() + afterMicros : Sensor.NONE;
    }

    @Override
    public void expire(State s, Sensor sensor, long watermark, Findings out) {
        if (enabled && !s.reported && sensor.lastTime() + afterMicros <= watermark) {
            out.row(Contract.SILENT, sensor.state(), sensor.lastTime(), sensor.lastValue(), Map.of());
            s.reported = true;
        }
    }

    @Override
    public void write(State s, DataOutputStream out) throws IOException {
        out.writeBoolean(s.reported);
    }

    @Override
    public State read(DataInputStream in, int version) throws IOException {
        State s = new State();
        s.reported = in.readBoolean();
        return s;
    }
}
