package iot.engine;

import java.util.ArrayList;
import java.util.List;

/** The step's rules, in the order they see a reading. Adding a rule: its class and a line here. */
public final class RuleRegistry {
    /** How a rule is made: from the step's settings (it reads its own table). */
    interface Maker {
        Rule<?> make(Settings settings);
    }

    private static final Maker[] RULES = {
        BandRule::new,
        StuckRule::new,
        SilentRule::new,
        ZScoreRule::new,
        RateOfChangeRule::new,
        LearnedRule::new,
    };

    private RuleRegistry() {}

    /** Every rule, made with its settings (an error names a setting that is missing or wrong). */
    public static List<Rule<?>> rules(Settings settings) {
        List<Rule<?>> out = new ArrayList<>(RULES.length);
        for (Maker make : RULES) out.add(make.make(settings));
        return List.copyOf(out);
    }
}
