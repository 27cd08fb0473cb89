package org.distillery.jobs.label;

import java.io.Serializable;
import java.util.List;
import org.apache.spark.broadcast.Broadcast;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.nn.ModelFile;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One teacher, or several averaged with weights, as the label job runs them on an executor. Logit averaging stores
 * the weighted mean of the raw logits. Probability averaging (the default, as in Hinton et al.'s ensembles) averages
 * softmax(z_i / T) and stores T * log(p): softmax of the stored logits at T is exactly the averaged distribution, and
 * re-tempering them at another T' sharpens or flattens that average (it is not the average of the teachers at T').
 */
final class TeacherEnsemble implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final double FLOOR = 1e-30;
    private final List<String> sha256s;
    private final List<Broadcast<ModelFile>> files;
    private final List<String> outputs;
    private final int[] exampleShape;
    private final double[] weights;
    private final boolean probabilities;
    private final double temperature;

    /**
     * {@code outputs}: per teacher, the ONNX output read (null: its only one); {@code exampleShape}: the transfer
     * set's, which each teacher's input takes.
     */
    TeacherEnsemble(List<String> sha256s, List<Broadcast<ModelFile>> files, List<String> outputs, int[] exampleShape,
                    double[] weights, String mode, double temperature) {
        this.sha256s = List.copyOf(sha256s);
        this.files = List.copyOf(files);
        this.outputs = new java.util.ArrayList<>(outputs);
        this.exampleShape = exampleShape.clone();
        this.weights = weights.clone();
        this.probabilities = mode.equals("prob");
        this.temperature = temperature;
    }

    /** Logits of a batch of rows (n x features) as n x classes floats. */
    float[][] logits(INDArray x) {
        float[][] first = org.distillery.model.nn.Matrices.rows(teacher(0).logits(x));
        if (sha256s.size() == 1) {
            return first;
        }
        int n = first.length;
        int c = first[0].length;
        double[][] acc = new double[n][c];
        for (int t = 0; t < sha256s.size(); t++) {
            float[][] z = t == 0 ? first : org.distillery.model.nn.Matrices.rows(teacher(t).logits(x));
            for (int i = 0; i < n; i++) {
                float[] row = probabilities ? SoftTargets.soften(z[i], temperature) : z[i];
                for (int j = 0; j < c; j++) {
                    acc[i][j] += weights[t] * row[j];
                }
            }
        }
        float[][] out = new float[n][c];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                out[i][j] = (float) (probabilities ? temperature * Math.log(Math.max(acc[i][j], FLOOR)) : acc[i][j]);
            }
        }
        return out;
    }

    /**
     * The (single) teacher's logits and the activations of its layer {@code layer}, n x classes and n x width floats,
     * from one forward pass where the fast dense path covers it.
     */
    float[][][] logitsAndLayer(INDArray x, int layer) {
        if (sha256s.size() != 1) {
            throw new IllegalStateException("layer activations of an ensemble are not defined");
        }
        INDArray[] both = TeacherCache.ownedByThisThread(key(0), files.get(0), exampleShape).logitsAndActivations(x,
                layer);
        return new float[][][] {org.distillery.model.nn.Matrices.rows(both[0]),
            org.distillery.model.nn.Matrices.rows(both[1])};
    }

    private org.distillery.model.nn.LogitFunction teacher(int t) {
        return TeacherCache.get(key(t), files.get(t), exampleShape, outputs.get(t));
    }

    /** A teacher on an executor: its SHA-256, the output read and the example shape it is fed. */
    private String key(int t) {
        return TeacherCache.key(sha256s.get(t), outputs.get(t), exampleShape);
    }

    void destroy() {
        files.forEach(Broadcast::destroy);
    }
}
