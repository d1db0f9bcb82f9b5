package iot.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** The contract as the engine reads it, the output schema, and settings by name. */
class ContractTest {
    @Test
    void theOutputIsTheInputThenTheContractsColumnsThenEachRulesWithNoNameTwice() {
        StructType input = new StructType();
        for (String c : Contract.INPUT) input = input.add(c, DataTypes.StringType, false);
        List<Rule<?>> rules = Feed.standard().rules;
        StructType out = SensorStep.outputSchema(input, rules);
        List<String> expected = new ArrayList<>(Contract.INPUT);
        Contract.OUTPUT.forEach(f -> expected.add(f.name()));
        rules.forEach(r -> r.columns().forEach(c -> expected.add(c.name())));
        assertEquals(expected, List.of(out.fieldNames()));
        assertEquals(expected.size(), new HashSet<>(expected).size());
        assertTrue(out.apply("guid").nullable()); // a rule's own row has only a few
        List<String> names = rules.stream().map(Rule::name).toList(); // each names its state: once
        assertEquals(names.size(), new HashSet<>(names).size());
        assertEquals("quarantined", Contract.QUARANTINED);
        assertEquals("iot.clock", Contract.CLOCK_PROPERTY);
    }

    @Test
    void aWrongSettingIsAnErrorNamingItsKey() {
        assertEquals("[detectors.zscore] history must be a whole number, not 2.5", error("zscore.history=2.5"));
        assertEquals("[detectors.stuck] repeats must be >= 2, not 1", error("stuck.repeats=1"));
        assertEquals("[detectors.stuck] chance must be between 0 and 1, not 2", error("stuck.chance=2"));
        assertEquals("[detectors.zscore] history must be >= 20, not 10", error("zscore.min_history=20", "zscore.history=10"));
        assertEquals("[detectors.learned] slow_span must be >= 30, not 5", error("learned.slow_span=5"));
        assertEquals("[detectors.band] enabled must be true or false, not \"yes\"", error("band.enabled=\"yes\""));
        // A silence longer than the TTL would never be reported (the sensor's timer fires first).
        assertEquals("[detectors.silent] after_seconds must be > 0 and below [detectors] sensor_ttl_seconds "
                     + "(3600.0), not 7200", error("silent.after_seconds=7200"));
        assertEquals("[detectors.rate_of_change] min_interval_seconds must be > 0, not 0",
                     error("rate_of_change.min_interval_seconds=0"));
        assertEquals("[detectors.stuck] repeat is no setting (it has enabled, repeats, chance)", error("stuck.repeat=3"));
        assertThrows(IllegalArgumentException.class, () -> Settings.parse("[1]"));
    }

    @Test
    void aTableNoRuleHasIsAnError() {
        String json = Feed.settings().replace("\"detectors\":{", "\"detectors\":{\"flat\":{\"enabled\":true},");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RuleRegistry.rules(Settings.parse(json)));
        assertTrue(e.getMessage().startsWith("[detectors.flat] is no detector of the engine (it has band, "), e.getMessage());
    }

    @Test
    void aSettingNotGivenTakesTheRulesDefaultAndTheJobIsToldIt() throws Exception {
        String json = Feed.settings().replaceAll("\"repeats\":\\d+,?", "");
        JsonNode resolved = new ObjectMapper().readTree(RuleRegistry.resolve(json));
        assertEquals(10, resolved.path("stuck").path("repeats").asInt()); // StuckRule's default
        JsonNode given = new ObjectMapper().readTree(Feed.settings()).path("detectors").path("zscore");
        given.fieldNames().forEachRemaining(key -> assertEquals( // every other as given
                given.get(key).asDouble(), resolved.path("zscore").path(key).asDouble(), key));
    }

    private static String error(String... overrides) {
        return assertThrows(IllegalArgumentException.class,
                () -> RuleRegistry.rules(Settings.parse(Feed.settings(overrides)))).getMessage();
    }
}
