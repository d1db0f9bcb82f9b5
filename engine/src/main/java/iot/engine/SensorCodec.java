package iot.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A sensor's model as the bytes Spark's state store keeps. Format 2; a format 1 value (saved
 * before re-sends, runs and band runs were kept) still loads, with none of them.
 */
public final class SensorCodec {
    private static final byte FORMAT = 2;

    private SensorCodec() {}

    public static byte[] toBytes(SensorModel m) {
        byte[] name = m.state == null ? new byte[0] : m.state.getBytes(StandardCharsets.UTF_8);
        byte[] out = m.band == null ? new byte[0] : m.band.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(128 + name.length + out.length
                + 8 * (m.historySize + m.windows.length + m.before.length)
                + 16 * (m.seenSize + m.runSize));
        b.put(FORMAT).put((byte) ((m.hasModel ? 1 : 0) | (m.silentReported ? 2 : 0)
                | (m.state == null ? 4 : 0) | (m.runReported ? 8 : 0)));
        b.putInt(m.historySize);
        for (int i = 0; i < m.historySize; i++) b.putDouble(m.history[i]);
        b.putDouble(m.lastValue).putInt(m.repeats).putLong(m.lastTime).putLong(m.timer);
        b.putInt(name.length).put(name);
        b.putInt(m.windows.length);
        for (long w : m.windows) b.putLong(w);
        b.putInt(m.seenSize);
        for (int i = 0; i < m.seenSize; i++) b.putLong(m.seenTimes[i]).putDouble(m.seenValues[i]);
        b.putLong(m.seenMax).put((byte) m.runSide).putInt(m.runSize);
        for (int i = 0; i < m.runSize; i++) b.putDouble(m.run[i]).putLong(m.runTimes[i]);
        b.putInt(m.before.length);
        for (double v : m.before) b.putDouble(v);
        b.putInt(m.probation);
        b.putInt(m.band == null ? -1 : out.length).put(out).putInt(m.inBand);
        return Arrays.copyOf(b.array(), b.position());
    }

    public static SensorModel fromBytes(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte format = b.get();
        if (format != FORMAT && format != 1) {
            throw new IllegalStateException("unknown sensor state format " + format);
        }
        SensorModel m = new SensorModel();
        byte flags = b.get();
        m.hasModel = (flags & 1) != 0;
        m.silentReported = (flags & 2) != 0;
        m.runReported = (flags & 8) != 0;
        m.historySize = b.getInt();
        m.history = new double[m.historySize];
        for (int i = 0; i < m.historySize; i++) m.history[i] = b.getDouble();
        m.lastValue = b.getDouble();
        m.repeats = b.getInt();
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
        m.runSide = b.get();
        m.runSize = b.getInt();
        m.run = new double[m.runSize];
        m.runTimes = new long[m.runSize];
        for (int i = 0; i < m.runSize; i++) {
            m.run[i] = b.getDouble();
            m.runTimes[i] = b.getLong();
        }
        m.before = new double[b.getInt()];
        for (int i = 0; i < m.before.length; i++) m.before[i] = b.getDouble();
        m.probation = b.getInt();
        int bandLength = b.getInt();
        if (bandLength >= 0) {
            byte[] out = new byte[bandLength];
            b.get(out);
            m.band = new String(out, StandardCharsets.UTF_8);
        }
        m.inBand = b.getInt();
        return m;
    }
}
