package iot.engine;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;

/**
 * band's runs: the band rule itself is the parse's (its reason column); a sensor's run out of band
 * is its finding once, at the reading that starts it ({@code band_new}): the sensor was back in
 * band for BACK readings in a row before it, or was out of band for another reason.
 */
final class BandRule implements Rule<BandRule.State> {
    private static final long serialVersionUID = 1L;
    static final int BACK = 10;

    /** A sensor's slice: the reason of its run out of band (null: none), readings in band since. */
    static final class State {
        String reason;
        int inBand;
    }

    BandRule(Settings settings) {}

    @Override public String name() { return "band"; }
    @Override public State fresh() { return new State(); }
    @Override public int version() { return 1; }

    @Override
    public List<Column> columns() {
        return List.of(new Column("band_new", "boolean", false, false));
    }

    @Override
    public void observe(State s, Reading r, Findings out) {
        String reason = r.bandReason();
        if (reason == null) {
            if (s.reason != null && ++s.inBand >= BACK) s.reason = null;
            return;
        }
        if (!reason.equals(s.reason)) out.set("band_new", true);
        s.reason = reason;
        s.inBand = 0;
    }

    @Override
    public void write(State s, DataOutputStream out) throws IOException {
        out.writeBoolean(s.reason != null);
        if (s.reason != null) out.writeUTF(s.reason);
        out.writeInt(s.inBand);
    }

    @Override
    public State read(DataInputStream in, int version) throws IOException {
        State s = new State();
        s.reason = in.readBoolean() ? in.readUTF() : null;
        s.inBand = in.readInt();
        return s;
    }
}
