package iot.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The stored sensor: today's format round trip, rules' sections, and the formats before. */
class SensorCodecTest {
    static final long S = 1_000_000L; // a second in µs

    @Test
    void aSensorComesBackAsItWasSaved() {
        Feed f = Feed.standard();
        f.feed(0, 1, ZScoreRuleTest.STEADY);
        f.feed(10, 1, 80.0, 80.5, 79.5); // a run in progress
        f.observe("CA", 13, 90.0, "above_band");
        f.sensor.remember(Feed.at(13), 90.0);
        f.sensor.firstInWindow(Feed.T0);
        f.sensor.timer = 42;
        f.hold(20, 61.0); // held for the rules, with a band reason and without
        f.sensor.hold(Feed.at(15), 95.0, "NV", "above_band");
        Sensor back = SensorCodec.fromBytes(SensorCodec.toBytes(f.sensor, f.rules), f.rules);
        assertArrayEquals(SensorCodec.toBytes(f.sensor, f.rules), SensorCodec.toBytes(back, f.rules));
        ZScoreRule.State z = back.slice(SensorCodec.indexOf(f.rules, "zscore"));
        assertArrayEquals(f.history(), z.history());
        assertEquals(3 + 1, z.runSize); // 90.0 continues the run above
        assertEquals(42, back.timer);
        assertEquals(Feed.at(13), back.lastTime);
        assertEquals(0, back.seen(Feed.at(13)));
        assertEquals(2, back.heldSize);
        assertArrayEquals(new long[] {Feed.at(15), Feed.at(20)}, java.util.Arrays.copyOf(back.heldTimes, 2));
        assertArrayEquals(new String[] {"NV", "CA"}, java.util.Arrays.copyOf(back.heldStates, 2));
        assertArrayEquals(new String[] {"above_band", null}, java.util.Arrays.copyOf(back.heldReasons, 2));
        assertArrayEquals(new double[] {95.0, 61.0}, java.util.Arrays.copyOf(back.heldValues, 2));
    }

    @Test
    void aSensorSavedInFormat3ByTheEngineBeforeHeldReadingsLoads() throws IOException {
        byte[] saved;
        try (InputStream in = getClass().getResourceAsStream("sensor-format3.hex")) {
            saved = HexFormat.of().parseHex(new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim());
        }
        assertEquals(3, saved[0]);
        Feed f = Feed.standard();
        Sensor m = SensorCodec.fromBytes(saved, f.rules);
        f.sensor = m;
        assertEquals(0, m.heldSize);
        assertEquals(Feed.at(11), m.lastTime);
        assertEquals(61.0, m.lastValue);
        assertEquals(12, m.seenSize);
        assertEquals((Feed.at(11) + 120 * S) / 1000, m.timer);
        assertArrayEquals(new long[] {Feed.T0}, m.windows);
        assertEquals(3, f.<StuckRule.State>slice("stuck").repeats); // 61.0 three times: stuck's v1
        assertEquals(0, f.<StuckRule.State>slice("stuck").size); // no rate kept yet
        assertEquals(0, f.<SilentRule.State>slice("silent").intervals.length); // silent's v1
        assertEquals(10, f.history().length); // zscore: the twelve less the two repeats
        assertEquals(List.of(), f.feed(12, 1, 61.0));
        assertEquals(4, f.<StuckRule.State>slice("stuck").repeats);
        assertEquals(SensorCodec.FORMAT, SensorCodec.toBytes(m, f.rules)[0]);
    }

    @Test
    void aRuleTheSavedSensorDidNotHaveStartsFreshAndTheOthersKeepTheirState() {
        Feed f = Feed.standard();
        f.feed(0, 1, 60.0, 60.0, 60.0);
        List<Rule<?>> fewer = new ArrayList<>(f.rules);
        fewer.removeIf(r -> r.name().equals("stuck"));
        // Saved by a step with a rule more: that rule's section is dropped, the others kept.
        Sensor before = SensorCodec.fromBytes(SensorCodec.toBytes(f.sensor, f.rules), fewer);
        assertEquals(fewer.size(), before.slices.length);
        // Loaded by a step with a rule more (stuck, added since): it starts fresh.
        Sensor back = SensorCodec.fromBytes(SensorCodec.toBytes(before, fewer), f.rules);
        StuckRule.State stuck = back.slice(SensorCodec.indexOf(f.rules, "stuck"));
        assertEquals(0, stuck.repeats);
        assertEquals(3, f.<StuckRule.State>slice("stuck").repeats);
        assertArrayEquals(f.history(), back.<ZScoreRule.State>slice(SensorCodec.indexOf(f.rules, "zscore")).history());
    }

    @Test
    void aSensorSavedInFormat2ByTheEngineBeforeLoads() throws IOException {
        byte[] saved;
        try (InputStream in = getClass().getResourceAsStream("sensor-format2.hex")) {
            saved = HexFormat.of().parseHex(new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim());
        }
        Feed f = Feed.standard();
        Sensor m = SensorCodec.fromBytes(saved, f.rules);
        f.sensor = m;
        ZScoreRule.State z = f.zscore();
        double size = 80.25 - 60.3; // the shift's: the run's mean less the history's
        double[] shifted = new double[10];
        for (int i = 0; i < 10; i++) shifted[i] = ZScoreRuleTest.STEADY[i] + size;
        assertArrayEquals(shifted, z.history(), 1e-9);
        assertArrayEquals(ZScoreRuleTest.STEADY, z.before);
        assertEquals(60 - 2, z.probation);
        assertEquals(-1, z.runSide);
        assertTrue(z.runReported);
        assertArrayEquals(new double[] {70.0, 70.0}, java.util.Arrays.copyOf(z.run, z.runSize));
        assertArrayEquals(new long[] {Feed.at(20), Feed.at(21)}, java.util.Arrays.copyOf(z.runTimes, z.runSize));
        assertEquals(10, m.seenSize);
        assertEquals(Feed.at(9), m.seenMax);
        assertArrayEquals(new long[] {Feed.T0, Feed.T0 + 60 * S}, m.windows);
        BandRule.State band = m.slice(SensorCodec.indexOf(f.rules, "band"));
        assertEquals("above_band", band.reason);
        assertEquals(2, band.inBand);
        StuckRule.State stuck = m.slice(SensorCodec.indexOf(f.rules, "stuck"));
        assertEquals(2, stuck.repeats);
        assertEquals(Feed.at(21), m.lastTime);
        assertEquals(70.0, m.lastValue);
        assertEquals("CA", m.state);
        assertEquals((Feed.at(21) + 120 * S) / 1000, m.timer);
        assertTrue(m.hasModel);
        // It goes on where it was: a third 70.0 is a repeat (stuck counts 3) and continues the
        // run, which zscore reported already; saved again, it is format 3.
        assertEquals(List.of(), f.feed(22, 1, 70.0));
        assertEquals(3, stuck.repeats);
        assertEquals(3, z.runSize);
        assertEquals(SensorCodec.FORMAT, SensorCodec.toBytes(m, f.rules)[0]);
    }

    @Test
    void aSensorSavedInFormat1Loads() throws IOException {
        double[] history = {60.0, 61.0, 60.0, 61.0, 60.0, 61.0, 60.0, 61.0, 60.0, 61.0};
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes); // big-endian, as ByteBuffer wrote it
        out.writeByte(1);
        out.writeByte(1); // flags: has a model
        out.writeInt(history.length);
        for (double v : history) out.writeDouble(v);
        out.writeDouble(61.0);
        out.writeInt(1);
        out.writeLong(Feed.at(9));
        out.writeLong(0);
        out.writeInt(2);
        out.write("CA".getBytes(StandardCharsets.UTF_8));
        out.writeInt(1);
        out.writeLong(0);
        Feed f = Feed.standard();
        f.sensor = SensorCodec.fromBytes(bytes.toByteArray(), f.rules);
        assertArrayEquals(history, f.history());
        assertEquals("high", f.feed(10, 1, 75.0).get(0).reason());
        Sensor again = SensorCodec.fromBytes(SensorCodec.toBytes(f.sensor, f.rules), f.rules);
        assertArrayEquals(history, again.<ZScoreRule.State>slice(SensorCodec.indexOf(f.rules, "zscore")).history());
    }

    @Test
    void anUnknownFormatIsAnError() {
        Feed f = Feed.standard();
        assertThrows(IllegalStateException.class, () -> SensorCodec.fromBytes(new byte[] {9, 0}, f.rules));
        // A rule's section in a format the rule never wrote (a newer engine's): refused by name.
        byte[] saved = SensorCodec.toBytes(f.sensor, f.rules);
        byte[] name = "stuck".getBytes(StandardCharsets.UTF_8);
        int at = 0;
        while (!java.util.Arrays.equals(saved, at, at + name.length, name, 0, name.length)) at++;
        saved[at + name.length] = 9; // the version byte after the section's name
        IllegalStateException newer = assertThrows(IllegalStateException.class,
                () -> SensorCodec.fromBytes(saved, f.rules));
        assertEquals("unknown stuck state format 9", newer.getMessage());
    }
}
