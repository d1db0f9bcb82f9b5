package iot.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Reads a sensor saved by the engine before rules kept sections of their own (formats 1 and 2:
 * one record of every rule's fields; format 1 had no re-sends, runs and band runs yet) into
 * today's shape: the common state, and the slices of band, stuck, silent and zscore.
 */
final class LegacySensorFormat {
    private LegacySensorFormat() {}

    static Sensor read(byte[] bytes, List<Rule<?>> rules) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte format = b.get();
        if (format != 2 && format != 1) throw new IllegalStateException("unknown sensor state format " + format);
        Sensor m = new Sensor(rules);
        ZScoreRule.State z = slice(m, rules, "zscore", ZScoreRule.State.class);
        StuckRule.State stuck = slice(m, rules, "stuck", StuckRule.State.class);
        SilentRule.State silent = slice(m, rules, "silent", SilentRule.State.class);
        BandRule.State band = slice(m, rules, "band", BandRule.State.class);
        byte flags = b.get();
        m.hasModel = (flags & 1) != 0;
        silent.reported = (flags & 2) != 0;
        z.runReported = (flags & 8) != 0;
        z.historySize = b.getInt();
        z.history = new double[z.historySize];
        for (int i = 0; i < z.historySize; i++) z.history[i] = b.getDouble();
        m.lastValue = b.getDouble();
        stuck.repeats = b.getInt();
        m.lastTime = b.getLong();
        m.timer = b.getLong();
        byte[] name = new byte[b.getInt()];
        b.get(name);
        m.state = (flags & 4) != 0 ? null : new String(name, StandardCharsets.UTF_8);
        m.windows = new long[b.getInt()];
        for (int i = 0; i < m.windows.length; i++) m.windows[i] = b.getLong();
        if (format == 1) return m; // saved before re-sends and runs were kept: none yet
        m.seenSize = b.getInt();
        m.seenTimes = new long[m.seenSize];
        m.seenValues = new double[m.seenSize];
        for (int i = 0; i < m.seenSize; i++) {
            m.seenTimes[i] = b.getLong();
            m.seenValues[i] = b.getDouble();
        }
        m.seenMax = b.getLong();
        z.runSide = b.get();
        z.runSize = b.getInt();
        z.run = new double[z.runSize];
        z.runTimes = new long[z.runSize];
        for (int i = 0; i < z.runSize; i++) {
            z.run[i] = b.getDouble();
            z.runTimes[i] = b.getLong();
        }
        z.before = new double[b.getInt()];
        for (int i = 0; i < z.before.length; i++) z.before[i] = b.getDouble();
        z.probation = b.getInt();
        int bandLength = b.getInt();
        if (bandLength >= 0) {
            byte[] reason = new byte[bandLength];
            b.get(reason);
            band.reason = new String(reason, StandardCharsets.UTF_8);
        }
        band.inBand = b.getInt();
        return m;
    }

    /** The named rule's slice of {@code m}, or a throwaway one if the step has no such rule. */
    private static <S> S slice(Sensor m, List<Rule<?>> rules, String name, Class<S> type) {
        int index = RuleRegistry.indexOf(rules, name);
        try {
            return index >= 0 ? type.cast(m.slices[index]) : type.getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
