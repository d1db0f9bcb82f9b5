package iot.engine;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * A sensor as the engine kept it before each rule had a typed state variable of its own: one
 * byte array in the state variable {@code sensor}. The step converts such a sensor once, the first
 * time it sees it (SensorProcessor), and clears the bytes. Format 4 (and 3, before readings were
 * held: none held): the state every rule relies on, then one section per rule (its name, its
 * format version, its bytes). A section of a rule the step no longer has is dropped; a rule with
 * no section (added since) starts fresh. Formats 1 and 2 (one record of every rule's fields):
 * {@link LegacySensorFormat}. Read only: nothing writes these formats any more.
 */
final class LegacySensorState {
    static final byte FORMAT = 4;
    static final byte BEFORE_HELD = 3;

    private LegacySensorState() {}

    static Sensor read(byte[] bytes, List<Rule<?>> rules) {
        if (bytes.length > 0 && bytes[0] != FORMAT && bytes[0] != BEFORE_HELD) {
            return LegacySensorFormat.read(bytes, rules);
        }
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            if (bytes.length == 0) throw new IllegalStateException("empty sensor state");
            byte format = in.readByte();
            Sensor m = new Sensor(rules);
            m.hasModel = in.readBoolean();
            m.lastValue = in.readDouble();
            m.lastTime = in.readLong();
            m.timer = in.readLong();
            m.state = in.readBoolean() ? in.readUTF() : null;
            m.windows = new long[in.readInt()];
            for (int i = 0; i < m.windows.length; i++) m.windows[i] = in.readLong();
            m.seenSize = in.readInt();
            m.seenTimes = new long[m.seenSize];
            m.seenValues = new double[m.seenSize];
            for (int i = 0; i < m.seenSize; i++) {
                m.seenTimes[i] = in.readLong();
                m.seenValues[i] = in.readDouble();
            }
            m.seenMax = in.readLong();
            if (format == FORMAT) {
                int held = in.readInt();
                for (int i = 0; i < held; i++) {
                    long when = in.readLong();
                    double value = in.readDouble();
                    String state = in.readUTF();
                    m.hold(when, value, state, in.readBoolean() ? in.readUTF() : null);
                }
            }
            int sections = in.readInt();
            for (int s = 0; s < sections; s++) {
                String name = in.readUTF();
                int version = in.readByte();
                byte[] section = new byte[in.readInt()];
                in.readFully(section);
                int index = RuleRegistry.indexOf(rules, name);
                if (index >= 0) {
                    DataInputStream slice = new DataInputStream(new ByteArrayInputStream(section));
                    m.slices[index] = section(rules.get(index), slice, version);
                }
            }
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A rule's section, in the format {@code version} the rule wrote it in. */
    private static Object section(Rule<?> rule, DataInputStream in, int version) throws IOException {
        int newest = switch (rule.name()) {
            case "stuck", "silent" -> 2;
            default -> 1;
        };
        if (version < 1 || version > newest) {
            throw new IllegalStateException("unknown " + rule.name() + " state format " + version);
        }
        if (rule instanceof BandRule) return band(in);
        if (rule instanceof StuckRule r) return stuck(r, in, version);
        if (rule instanceof SilentRule) return silent(in, version);
        if (rule instanceof ZScoreRule) return zscore(in);
        if (rule instanceof RateOfChangeRule) return rateOfChange(in);
        if (rule instanceof FlatlineRule) return flatline(in);
        if (rule instanceof LearnedRule) return learned(in);
        return rule.fresh(); // no rule of that name wrote sections
    }

    private static BandRule.State band(DataInputStream in) throws IOException {
        BandRule.State s = new BandRule.State();
        s.reason = in.readBoolean() ? in.readUTF() : null;
        s.inBand = in.readInt();
        return s;
    }

    private static StuckRule.State stuck(StuckRule rule, DataInputStream in, int version) throws IOException {
        StuckRule.State s = new StuckRule.State();
        s.repeats = in.readInt();
        s.reported = rule.enabled && s.repeats >= rule.repeats; // version 1 reported at `repeats`
        if (version >= 2) {
            s.reported = in.readBoolean();
            for (int i = 0; i < s.bits.length; i++) s.bits[i] = in.readLong();
            s.size = in.readInt();
            s.next = in.readInt();
            s.ones = in.readInt();
        }
        return s;
    }

    private static SilentRule.State silent(DataInputStream in, int version) throws IOException {
        SilentRule.State s = new SilentRule.State();
        s.reported = in.readBoolean();
        if (version >= 2) {
            s.intervals = new long[in.readInt()];
            for (int i = 0; i < s.intervals.length; i++) s.intervals[i] = in.readLong();
            s.next = in.readInt();
        }
        return s;
    }

    private static ZScoreRule.State zscore(DataInputStream in) throws IOException {
        ZScoreRule.State s = new ZScoreRule.State();
        s.historySize = in.readInt();
        s.history = new double[s.historySize];
        for (int i = 0; i < s.historySize; i++) s.history[i] = in.readDouble();
        s.runSide = in.readByte();
        s.runReported = in.readBoolean();
        s.runSize = in.readInt();
        s.run = new double[s.runSize];
        s.runTimes = new long[s.runSize];
        for (int i = 0; i < s.runSize; i++) {
            s.run[i] = in.readDouble();
            s.runTimes[i] = in.readLong();
        }
        s.before = new double[in.readInt()];
        for (int i = 0; i < s.before.length; i++) s.before[i] = in.readDouble();
        s.probation = in.readInt();
        return s;
    }

    private static RateOfChangeRule.State rateOfChange(DataInputStream in) throws IOException {
        RateOfChangeRule.State s = new RateOfChangeRule.State();
        s.time = in.readLong();
        s.value = in.readDouble();
        s.jumpTime = in.readLong();
        s.jumpValue = in.readDouble();
        s.before = in.readDouble();
        s.beforeLeft = in.readInt();
        return s;
    }

    /** Written oldest first, as the bean stores it (the ring is rebuilt at the next reading). */
    private static FlatlineRule.State flatline(DataInputStream in) throws IOException {
        FlatlineRule.State s = new FlatlineRule.State();
        double[] values = new double[in.readInt()];
        boolean[] repeats = new boolean[values.length];
        for (int i = 0; i < values.length; i++) {
            values[i] = in.readDouble();
            repeats[i] = in.readBoolean();
        }
        s.setValues(values);
        s.setRepeats(repeats);
        s.seen = in.readLong();
        s.usual = in.readDouble();
        s.flat = in.readBoolean();
        return s;
    }

    private static LearnedRule.State learned(DataInputStream in) throws IOException {
        LearnedRule.State s = new LearnedRule.State();
        s.n = in.readLong();
        s.mean = in.readDouble();
        s.var = in.readDouble();
        s.slowMean = in.readDouble();
        s.slowVar = in.readDouble();
        s.last = in.readDouble();
        s.run = in.readBoolean();
        return s;
    }
}
