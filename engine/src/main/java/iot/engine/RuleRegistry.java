package iot.engine;

import java.util.ArrayList;
import java.util.List;

/** The step's rules, in the order they see a reading. Adding a rule: its class and a line here. */
public final class RuleRegistry {
    /** How a rule is made: from the step's settings (it reads and checks its own table). */
    interface Maker {
        Rule<?> make(Settings settings);
    }

    private static final Maker[] RULES = {
        BandRule::new,
        StuckRule::new,
        SilentRule::new,
        ZScoreRule::new,
        RateOfChangeRule::new,
        FlatlineRule::new,
        LearnedRule::new,
    };

    private RuleRegistry() {}

    /** Every rule, made with its settings: an error names a setting that is wrong, a table or a
     * key that no rule has. */
    public static List<Rule<?>> rules(Settings settings) {
        List<Rule<?>> out = new ArrayList<>(RULES.length);
        for (Maker make : RULES) out.add(make.make(settings));
        List<String> unread = settings.unread();
        if (!unread.isEmpty()) throw new IllegalArgumentException(String.join("; ", unread));
        return List.copyOf(out);
    }

    /** Where the rule named {@code name} is among {@code rules}, or -1. */
    static int indexOf(List<Rule<?>> rules, String name) {
        for (int i = 0; i < rules.size(); i++) if (rules.get(i).name().equals(name)) return i;
        return -1;
    }

    /** The rules' settings as they run with them (JSON: each detector's table, defaults
     * included), after the checks of {@link #rules}: the job's one look at them (step.py). */
    public static String resolve(String settingsJson) {
        Settings settings = Settings.parse(settingsJson);
        rules(settings);
        return settings.resolved();
    }
}
