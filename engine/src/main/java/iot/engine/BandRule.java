package iot.engine;

import java.util.HashMap;
import java.util.Map;

/**
 * band: the band rule itself is the parse's (its reason column: outside the state's band, or any
 * real air temperature); a sensor's run out of band is one finding, at the reading that starts
 * it: the sensor was back in band for BACK readings in a row before it, or was out of band for
 * another reason. A reading kept out of the rules (late) is judged alone. The score is how far
 * outside its state's band the reading is, in °F (its absolute value for a state with no band).
 */
public final class BandRule implements Rule<BandRule.State> {
    private static final long serialVersionUID = 1L;
    static final int BACK = 10;

    /** A sensor's slice: the reason of its run out of band (null: none), readings in band since. */
    public static final class State {
        String reason;
        int inBand;

        public String getReason() { return reason; }
        public void setReason(String v) { reason = v; }
        public int getInBand() { return inBand; }
        public void setInBand(int v) { inBand = v; }
    }

    private final boolean enabled;
    private final Map<String, double[]> bands = new HashMap<>(); // state → low, high (°F)

    BandRule(Settings settings) {
        enabled = settings.detector("band").flag("enabled", true);
        settings.object("bands").fields().forEachRemaining(e -> bands.put(
                e.getKey(), new double[] {e.getValue().get(0).asDouble(), e.getValue().get(1).asDouble()}));
    }

    @Override public String name() { return "band"; }
    @Override public State fresh() { return new State(); }

    /** How far outside its state's band the value is (°F). */
    double score(String state, double value) {
        double[] band = bands.get(state);
        return band == null ? Math.abs(value) : Math.max(band[0] - value, value - band[1]);
    }

    @Override
    public void aside(Reading r, Findings out) {
        if (enabled && r.bandReason() != null) out.find(name(), r.bandReason(), score(r.state(), r.value()));
    }

    @Override
    public void observe(State s, Reading r, Findings out) {
        String reason = r.bandReason();
        if (reason == null) {
            if (s.reason != null && ++s.inBand >= BACK) s.reason = null;
            return;
        }
        if (enabled && !reason.equals(s.reason)) out.find(name(), reason, score(r.state(), r.value()));
        s.reason = reason;
        s.inBand = 0;
    }
}
