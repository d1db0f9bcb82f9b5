package iot.engine;

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
    void aMissingOrMistypedSettingIsAnErrorNamingIt() {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> RuleRegistry.rules(Settings.parse(Feed.settings("stuck.repeats=null"))));
        assertEquals("missing setting detectors.stuck.repeats", missing.getMessage());
        IllegalArgumentException typed = assertThrows(IllegalArgumentException.class,
                () -> RuleRegistry.rules(Settings.parse(Feed.settings("zscore.history=2.5"))));
        assertEquals("detectors.zscore.history must be a whole number, not 2.5", typed.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Settings.parse("[1]"));
        // A silence longer than the TTL would never be reported (the sensor's timer fires first).
        assertThrows(IllegalArgumentException.class,
                () -> RuleRegistry.rules(Settings.parse(Feed.settings("silent.after_seconds=7200"))));
        assertThrows(IllegalArgumentException.class, () -> RuleRegistry.rules(
                Settings.parse(Feed.settings("rate_of_change.min_interval_seconds=0"))));
    }
}
