package iot.engine;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;

/** stuck: the identical value {@code repeats} times in a row, reported once per run (its length). */
final class StuckRule implements Rule<StuckRule.State> {
    private static final long serialVersionUID = 1L;
    private final boolean enabled;
    private final int repeats;

    /** A sensor's slice: how many readings in a row had its latest value. */
    static final class State {
        int repeats;
    }

    StuckRule(Settings settings) {
        Settings s = settings.detector("stuck");
        enabled = s.flag("enabled");
        repeats = s.count("repeats");
        if (repeats < 2) throw new IllegalArgumentException("stuck repeats must be >= 2, not " + repeats);
    }

    @Override public String name() { return "stuck"; }
    @Override public List<Column> columns() { return List.of(Column.of("stuck_score", "double")); }
    @Override public State fresh() { return new State(); }
    @Override public int version() { return 1; }

    @Override
    public void observe(State s, Reading r, Findings out) {
        s.repeats = r.repeat() ? s.repeats + 1 : 1;
        if (enabled && s.repeats == repeats) out.set("stuck_score", (double) s.repeats);
    }

    @Override
    public void write(State s, DataOutputStream out) throws IOException {
        out.writeInt(s.repeats);
    }

    @Override
    public State read(DataInputStream in, int version) throws IOException {
        State s = new State();
        s.repeats = in.readInt();
        return s;
    }
}
