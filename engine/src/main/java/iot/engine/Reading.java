package iot.engine;

/**
 * One on-time reading as the rules see it: its state, event time (µs), value, the band rule's
 * reason (null: in band), whether it is a possible temperature at all, whether it repeats the
 * sensor's value before, and the sensor's latest reading before it (time NONE: none).
 */
public record Reading(String state, long when, double value, String bandReason, boolean plausible,
                      boolean repeat, long previousTime, double previousValue, String previousState) {}
