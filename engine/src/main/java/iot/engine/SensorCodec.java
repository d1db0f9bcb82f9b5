package iot.engine;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * A sensor as the bytes Spark's state store keeps. Format 4: the state every rule relies on (with
 * the readings held for the rules), then one section per rule: its name, its format version and
 * its bytes, written and read by the rule alone. A section of a rule the step no longer has is
 * dropped; a rule with no section (added since) starts fresh. Format 3 (before readings were
 * held: none held) loads; so do formats 1 and 2 (one record of every rule's fields, before rules
 * had sections of their own): {@link LegacySensorFormat}.
 */
public final class SensorCodec {
    static final byte FORMAT = 4;
    static final byte BEFORE_HELD = 3;

    private SensorCodec() {}

    public static byte[] toBytes(Sensor m, List<Rule<?>> rules) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(FORMAT);
            out.writeBoolean(m.hasModel);
            out.writeDouble(m.lastValue);
            out.writeLong(m.lastTime);
            out.writeLong(m.timer);
            out.writeBoolean(m.state != null);
            if (m.state != null) out.writeUTF(m.state);
            out.writeInt(m.windows.length);
            for (long w : m.windows) out.writeLong(w);
            out.writeInt(m.seenSize);
            for (int i = 0; i < m.seenSize; i++) {
                out.writeLong(m.seenTimes[i]);
                out.writeDouble(m.seenValues[i]);
            }
            out.writeLong(m.seenMax);
            out.writeInt(m.heldSize);
            for (int i = 0; i < m.heldSize; i++) {
                out.writeLong(m.heldTimes[i]);
                out.writeDouble(m.heldValues[i]);
                out.writeUTF(m.heldStates[i]);
                out.writeBoolean(m.heldReasons[i] != null);
                if (m.heldReasons[i] != null) out.writeUTF(m.heldReasons[i]);
            }
            out.writeInt(rules.size());
            ByteArrayOutputStream section = new ByteArrayOutputStream(128);
            for (int i = 0; i < rules.size(); i++) {
                section.reset();
                int version = writeSlice(rules.get(i), m, i, new DataOutputStream(section));
                out.writeUTF(rules.get(i).name());
                out.writeByte(version);
                out.writeInt(section.size());
                section.writeTo(out);
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static <S> int writeSlice(Rule<S> rule, Sensor m, int index, DataOutputStream out)
            throws IOException {
        rule.write(m.<S>slice(index), out);
        out.flush();
        return rule.version();
    }

    public static Sensor fromBytes(byte[] bytes, List<Rule<?>> rules) {
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
                int index = indexOf(rules, name);
                if (index >= 0) {
                    Rule<?> rule = rules.get(index);
                    if (version < 1 || version > rule.version()) {
                        throw new IllegalStateException("unknown " + name + " state format " + version);
                    }
                    m.slices[index] = rule.read(new DataInputStream(new ByteArrayInputStream(section)), version);
                }
            }
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int indexOf(List<Rule<?>> rules, String name) {
        for (int i = 0; i < rules.size(); i++) if (rules.get(i).name().equals(name)) return i;
        return -1;
    }
}
