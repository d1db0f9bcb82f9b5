package iot.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.beans.IntrospectionException;
import java.beans.Introspector;
import java.beans.PropertyDescriptor;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The stored sensor: its typed state through Spark's encoders, and the byte formats before it
 * (converted once by the step). */
class SensorStateTest {
    static final long S = 1_000_000L; // a second in µs

    /** Fields kept through a property of another name (an array's length is its size, a ring's
     * window is stored oldest first), and the sensor's slices (stored by their rules). */
    static final Set<String> DERIVED = Set.of("ZScoreRule$State.historySize", "ZScoreRule$State.runSize",
            "Sensor.seenSize", "Sensor.heldSize", "Sensor.slices", "FlatlineRule$State.size",
            "FlatlineRule$State.next");

    /** Every bean property of {@code o} (arrays as lists), by name. */
    static Map<String, Object> properties(Object o) {
        Map<String, Object> values = new TreeMap<>();
        try {
            for (PropertyDescriptor p : Introspector.getBeanInfo(o.getClass(), Object.class).getPropertyDescriptors()) {
                Object v = p.getReadMethod().invoke(o);
                values.put(p.getName(), v != null && v.getClass().isArray() ? Arrays.deepToString(new Object[] {v}) : v);
            }
        } catch (IntrospectionException | IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException(e);
        }
        return values;
    }

    /** The rules' slices and the sensor's core, each as its properties. */
    static Map<String, Map<String, Object>> stored(Sensor m, List<Rule<?>> rules) {
        Map<String, Map<String, Object>> all = new TreeMap<>();
        all.put("core", properties(m));
        for (int i = 0; i < rules.size(); i++) all.put(rules.get(i).name(), properties(m.slices[i]));
        return all;
    }

    /** A continuation that gives every rule something to find: a spike, repeats, a jump, a
     * frozen stretch, a silence, readings out of band. */
    static List<Feed.Found> goOn(Feed f) {
        double t = Format4Sensor.time(Format4Sensor.READINGS) + 10;
        List<Feed.Found> found = new ArrayList<>(f.release(t));
        for (int i = 0; i < 60; i++) found.addAll(f.observe("CA", t + i, Format4Sensor.value(i), null));
        found.addAll(f.observe("CA", t + 61, 75.0, null));
        for (int i = 0; i < 40; i++) found.addAll(f.observe("CA", t + 62 + i, 61.0, null));
        for (int i = 0; i < 40; i++) found.addAll(f.observe("CA", t + 110 + i, 70.0 + 0.001 * i, null));
        found.addAll(f.observe("CA", t + 160, 99.0, "above_band"));
        found.addAll(f.release(t + 3000));
        return found;
    }

    /** The properties Spark's bean encoder stores and restores: a getter and a setter of its type. */
    static Set<String> storedProperties(Class<?> bean) {
        Set<String> names = new java.util.TreeSet<>();
        try {
            for (PropertyDescriptor p : Introspector.getBeanInfo(bean, Object.class).getPropertyDescriptors()) {
                assertTrue(p.getReadMethod() != null && p.getWriteMethod() != null
                           && p.getWriteMethod().getParameterTypes()[0] == p.getPropertyType(),
                           bean.getName() + "." + p.getName() + " needs a getter and a setter of one type");
                names.add(p.getName());
            }
        } catch (IntrospectionException e) {
            throw new IllegalStateException(e);
        }
        return names;
    }

    @Test
    void everyStoredFieldOfTheSensorAndItsRulesIsAPropertyOfItsBean() {
        List<Class<?>> beans = new ArrayList<>(List.of(Sensor.class));
        for (Rule<?> rule : Format4Sensor.feed().rules) beans.add(rule.fresh().getClass());
        for (Class<?> bean : beans) {
            Set<String> properties = storedProperties(bean);
            for (Field field : bean.getDeclaredFields()) {
                String name = bean.getName().substring(bean.getPackageName().length() + 1) + "." + field.getName();
                if (Modifier.isStatic(field.getModifiers()) || DERIVED.contains(name)) continue;
                assertTrue(properties.contains(field.getName()),
                           bean.getName() + "." + field.getName() + " has no getter and setter: it would not be stored");
            }
        }
    }

    @Test
    void aSensorComesBackFromItsEncodersAsItWasAndGoesOnTheSame() {
        Feed f = Format4Sensor.feed();
        Format4Sensor.fill(f);
        Feed back = Format4Sensor.feed();
        back.sensor = StoredSensor.roundTrip(f.sensor, f.rules);
        assertEquals(stored(f.sensor, f.rules), stored(back.sensor, back.rules));
        assertEquals(2, back.sensor.heldSize);
        assertArrayEquals(new String[] {"NV", "CA"}, back.sensor.getHeldStates());
        assertArrayEquals(new String[] {"above_band", null}, back.sensor.getHeldReasons());
        List<Feed.Found> found = goOn(f);
        assertEquals(found, goOn(back));
        Set<String> detectors = new java.util.TreeSet<>();
        for (Feed.Found x : found) detectors.add(x.detector());
        assertEquals(Set.of("band", "flatline", "level_shift", "rate_of_change", "silent", "stuck", "zscore"), detectors);
    }

    private static byte[] hex(String resource) throws IOException {
        try (InputStream in = SensorStateTest.class.getResourceAsStream(resource)) {
            return HexFormat.of().parseHex(new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim());
        }
    }

    @Test
    void aSensorSavedInFormat4ConvertsToTheStateTheSameReadingsGiveToday() throws IOException {
        byte[] saved = hex("sensor-format4.hex"); // by 791cd7d: Format4Sensor.fill
        assertEquals(LegacySensorState.FORMAT, saved[0]);
        Feed today = Format4Sensor.feed();
        Format4Sensor.fill(today);
        Feed converted = Format4Sensor.feed();
        converted.sensor = LegacySensorState.read(saved, converted.rules);
        assertEquals(stored(today.sensor, today.rules), stored(converted.sensor, converted.rules));
        assertEquals(goOn(today), goOn(converted));
    }

    @Test
    void aRuleTheSavedSensorDidNotHaveStartsFreshAndTheOthersKeepTheirState() throws IOException {
        byte[] saved = hex("sensor-format4.hex");
        Feed f = Format4Sensor.feed();
        List<Rule<?>> fewer = new ArrayList<>(f.rules);
        fewer.removeIf(r -> r.name().equals("stuck"));
        Sensor before = LegacySensorState.read(saved, fewer); // stuck's section is dropped
        Sensor back = new StoredSensor(before, fewer).load(f.rules); // stuck added since: fresh
        assertEquals(0, back.<StuckRule.State>slice(RuleRegistry.indexOf(f.rules, "stuck")).repeats);
        Sensor all = LegacySensorState.read(saved, f.rules);
        assertEquals(properties(all.slices[RuleRegistry.indexOf(f.rules, "zscore")]),
                     properties(back.slices[RuleRegistry.indexOf(f.rules, "zscore")]));
    }

    @Test
    void aSensorSavedInFormat3ByTheEngineBeforeHeldReadingsLoads() throws IOException {
        byte[] saved = hex("sensor-format3.hex");
        assertEquals(3, saved[0]);
        Feed f = Feed.standard();
        Sensor m = LegacySensorState.read(saved, f.rules);
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
    }

    @Test
    void aSensorSavedInFormat2ByTheEngineBeforeLoads() throws IOException {
        byte[] saved = hex("sensor-format2.hex");
        Feed f = Feed.standard();
        Sensor m = LegacySensorState.read(saved, f.rules);
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
        assertArrayEquals(new double[] {70.0, 70.0}, Arrays.copyOf(z.run, z.runSize));
        assertArrayEquals(new long[] {Feed.at(20), Feed.at(21)}, Arrays.copyOf(z.runTimes, z.runSize));
        assertEquals(10, m.seenSize);
        assertEquals(Feed.at(9), m.seenMax);
        assertArrayEquals(new long[] {Feed.T0, Feed.T0 + 60 * S}, m.windows);
        BandRule.State band = f.slice("band");
        assertEquals("above_band", band.reason);
        assertEquals(2, band.inBand);
        StuckRule.State stuck = f.slice("stuck");
        assertEquals(2, stuck.repeats);
        assertEquals(Feed.at(21), m.lastTime);
        assertEquals(70.0, m.lastValue);
        assertEquals("CA", m.state);
        assertEquals((Feed.at(21) + 120 * S) / 1000, m.timer);
        assertTrue(m.hasModel);
        // It goes on where it was: a third 70.0 is a repeat (stuck counts 3) and continues the
        // run, which zscore reported already.
        assertEquals(List.of(), f.feed(22, 1, 70.0));
        assertEquals(3, stuck.repeats);
        assertEquals(3, z.runSize);
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
        f.sensor = LegacySensorState.read(bytes.toByteArray(), f.rules);
        assertArrayEquals(history, f.history());
        assertEquals("high", f.feed(10, 1, 75.0).get(0).reason());
        assertFalse(f.sensor.seen(Feed.at(9)) >= 0); // format 1 kept no readings seen
    }

    @Test
    void theStoreConvertsASensorKeptAsBytesOnceAndKeepsItTypedFromThenOn() throws IOException {
        StoredSensor store = new StoredSensor();
        store.variable("sensor", org.apache.spark.sql.Encoders.BINARY()).update(hex("sensor-format4.hex"));
        Feed converted = Format4Sensor.feed();
        converted.sensor = store.load(converted.rules);
        assertEquals(Set.of(), store.rows.keySet()); // the bytes cleared, nothing typed yet
        new SensorStore(store, converted.rules).save(converted.sensor);
        Set<String> variables = new java.util.TreeSet<>(List.of("core"));
        for (Rule<?> rule : converted.rules) variables.add(rule.stateName());
        assertEquals(variables, store.rows.keySet());
        Feed today = Format4Sensor.feed();
        Format4Sensor.fill(today);
        Sensor back = store.load(today.rules);
        assertEquals(stored(today.sensor, today.rules), stored(back, today.rules));
        assertNull(new StoredSensor().load(today.rules)); // never seen
    }

    @Test
    void aForgottenSensorKeepsItsCoreAndNoSlices() {
        Feed f = Format4Sensor.feed();
        Format4Sensor.fill(f);
        f.sensor.forget(f.rules);
        StoredSensor store = new StoredSensor(f.sensor, f.rules);
        assertEquals(Set.of("core"), store.rows.keySet());
        Sensor back = store.load(f.rules);
        assertFalse(back.hasModel);
        assertEquals(stored(f.sensor, f.rules), stored(back, f.rules)); // fresh slices
        assertArrayEquals(f.sensor.windows, back.windows); // still known: never new twice
    }

    @Test
    void flatlinesWindowNotFullYetComesBackAndFillsOn() {
        Feed f = Format4Sensor.feed();
        for (int i = 0; i < 12; i++) f.observe("CA", i, Format4Sensor.value(i), null);
        Feed back = Format4Sensor.feed();
        back.sensor = StoredSensor.roundTrip(f.sensor, f.rules);
        FlatlineRule.State a = f.slice("flatline"), b = back.slice("flatline");
        assertArrayEquals(a.getValues(), b.getValues());
        assertEquals(12, b.getValues().length);
        for (int i = 12; i < 500; i++) {
            assertEquals(f.observe("CA", i, Format4Sensor.value(i), null),
                         back.observe("CA", i, Format4Sensor.value(i), null));
        }
        assertArrayEquals(a.getValues(), b.getValues());
        assertArrayEquals(a.getRepeats(), b.getRepeats());
        assertEquals(a.usual, b.usual);
    }

    @Test
    void anUnknownFormatIsAnError() throws IOException {
        Feed f = Feed.standard();
        assertThrows(IllegalStateException.class, () -> LegacySensorState.read(new byte[] {9, 0}, f.rules));
        // A rule's section in a format the rule never wrote: refused by name.
        byte[] saved = hex("sensor-format4.hex");
        byte[] name = "stuck".getBytes(StandardCharsets.UTF_8);
        int at = 0;
        while (!Arrays.equals(saved, at, at + name.length, name, 0, name.length)) at++;
        saved[at + name.length] = 9; // the version byte after the section's name
        IllegalStateException newer = assertThrows(IllegalStateException.class,
                () -> LegacySensorState.read(saved, f.rules));
        assertEquals("unknown stuck state format 9", newer.getMessage());
    }
}
