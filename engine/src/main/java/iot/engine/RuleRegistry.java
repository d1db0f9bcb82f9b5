package iot.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** The step's rules, in the order they see a reading. Adding a rule: its class and one line here. */
public final class RuleRegistry {
    private static final List<Function<Settings, Rule<?>>> RULES = List.of(
            BandRule::new,
            StuckRule::new,
            SilentRule::new,
            ZScoreRule::new);

    private RuleRegistry() {}

    /** Every rule, made with its settings (an error names a setting that is missing or wrong). */
    public static List<Rule<?>> rules(Settings settings) {
        List<Rule<?>> out = new ArrayList<>(RULES.size());
        for (Function<Settings, Rule<?>> make : RULES) out.add(make.apply(settings));
        return List.copyOf(out);
    }
}
