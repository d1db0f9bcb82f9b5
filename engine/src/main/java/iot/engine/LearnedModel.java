package iot.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import org.apache.spark.SparkFiles;
import org.apache.spark.TaskContext;

/**
 * The learned detector's model on an executor: an Isolation Forest read from the artifact the
 * driver chose for the batch (jobs/iotstream/learned/artifact.py). The driver ships the artifact
 * with the job (SparkContext.addFile: every executor fetches it from the driver, or from the
 * file system it came from, before it runs a task of the batch) and names it in the task's local
 * property {@link Contract#MODEL_PROPERTY}; the executor reads its own copy (SparkFiles), never
 * the driver's folder. Read once per JVM and kept while the driver names the same artifact
 * (artifacts never change: a new model is a new file). The score is
 * forest.py's: 2^(-(sum of the trees' path lengths) / (trees × c(ψ))), features rounded to
 * float32 before each split, as scikit-learn's trees split.
 */
final class LearnedModel {
    final String location;
    final String spec;
    final double threshold;
    private final int[][] feature, left, right;
    private final double[][] split, path;
    private final double normaliser;

    private static volatile LearnedModel last; // the model of the last batch this JVM scored

    private LearnedModel(String location, JsonNode doc) {
        this.location = location;
        JsonNode f = doc.path("features");
        spec = spec(f.path("fast_span").asInt(), f.path("slow_span").asInt(),
                    f.path("warmup").asInt(), f.path("min_sigma").asDouble());
        threshold = doc.path("threshold").asDouble();
        JsonNode forest = doc.path("forest");
        normaliser = forest.path("normaliser").asDouble();
        JsonNode trees = forest.path("trees");
        int n = trees.size();
        if (n == 0 || !(normaliser > 0)) throw new IllegalArgumentException("model " + location + " has no forest");
        feature = new int[n][];
        left = new int[n][];
        right = new int[n][];
        split = new double[n][];
        path = new double[n][];
        for (int t = 0; t < n; t++) {
            JsonNode tree = trees.get(t);
            feature[t] = ints(tree.path("feature"));
            left[t] = ints(tree.path("left"));
            right[t] = ints(tree.path("right"));
            split[t] = doubles(tree.path("threshold"));
            path[t] = doubles(tree.path("path"));
        }
    }

    /** The features' settings as one string: a model is scored only by the features it learnt. */
    static String spec(int fastSpan, int slowSpan, int warmup, double minSigma) {
        return "fast_span " + fastSpan + ", slow_span " + slowSpan + ", warmup " + warmup
                + ", min_sigma " + minSigma;
    }

    /** The model the driver chose for the running task's batch, or null (none, or no task). */
    static LearnedModel forTask(String spec) {
        TaskContext task = TaskContext.get();
        String location = task == null ? null : task.getLocalProperty(Contract.MODEL_PROPERTY);
        if (location == null || location.isEmpty()) return null;
        LearnedModel model = last;
        if (model == null || !model.location.equals(location)) {
            synchronized (LearnedModel.class) {
                model = last;
                if (model == null || !model.location.equals(location)) {
                    model = load(location);
                    last = model;
                }
            }
        }
        if (!model.spec.equals(spec)) {
            throw new IllegalStateException("model " + location + " was trained on features ("
                    + model.spec + ") other than the job's [detectors.learned] (" + spec + ")");
        }
        return model;
    }

    /** The artifact shipped with the job under {@code name}, from this JVM's copy of it. */
    static LearnedModel load(String name) {
        File copy = new File(SparkFiles.get(name));
        try (InputStream in = new FileInputStream(copy)) {
            return new LearnedModel(name, new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read model " + name + " (shipped with the job: "
                    + copy + ")", e);
        }
    }

    /** A model from an artifact's text (its location only names it). */
    static LearnedModel parse(String location, String json) {
        try {
            return new LearnedModel(location, new ObjectMapper().readTree(json));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read model " + location, e);
        }
    }

    double score(double[] x) {
        double[] rounded = new double[x.length];
        for (int i = 0; i < x.length; i++) rounded[i] = (float) x[i];
        double total = 0;
        for (int t = 0; t < feature.length; t++) {
            int[] f = feature[t];
            int node = 0;
            while (f[node] != -1) node = rounded[f[node]] <= split[t][node] ? left[t][node] : right[t][node];
            total += path[t][node];
        }
        return Math.pow(2.0, -total / (feature.length * normaliser));
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }

    private static double[] doubles(JsonNode a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asDouble();
        return out;
    }
}
