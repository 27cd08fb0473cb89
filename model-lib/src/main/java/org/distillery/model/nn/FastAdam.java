package org.distillery.model.nn;

import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.comparison.CompareAndSet;
import org.nd4j.linalg.api.ops.impl.transforms.floating.Sqrt;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Adam (Kingma and Ba 2015) with DL4J's update rule, computed with whole-array ND4J operations instead of DL4J's
 * native {@code adam_updater} op. That op raises beta1 and beta2 to the iteration's power once per parameter; profiled
 * on this project's 784-64-10 student it took about a quarter of all CPU samples of a training run, more than every
 * matrix product together. Here the bias corrections are computed once per step:
 *
 * <pre>
 *   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
 *   g' = lr sqrt(1 - beta2^(t+1)) / (1 - beta1^(t+1)) * m / (sqrt(v) + epsilon)
 * </pre>
 *
 * which is DL4J's {@code AdamUpdater}: the state (m, then v, in one view) has the same layout, so the two can replace
 * each other on a saved network. A learning-rate schedule is not supported (distillery sets the rate per epoch).
 */
public final class FastAdam implements IUpdater {
    private static final long serialVersionUID = 1L;
    private double learningRate;
    private final double beta1;
    private final double beta2;
    private final double epsilon;

    /** DL4J's Adam defaults: beta1 0.9, beta2 0.999, epsilon 1e-8. */
    public FastAdam(double learningRate) {
        this(learningRate, 0.9, 0.999, 1e-8);
    }

    @JsonCreator
    public FastAdam(@JsonProperty("learningRate") double learningRate, @JsonProperty("beta1") double beta1,
                    @JsonProperty("beta2") double beta2, @JsonProperty("epsilon") double epsilon) {
        if (!(learningRate >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon > 0)) {
            throw new IllegalArgumentException("Adam needs learning rate >= 0, beta1 and beta2 in [0, 1) and epsilon > 0,"
                    + " got " + learningRate + ", " + beta1 + ", " + beta2 + ", " + epsilon);
        }
        this.learningRate = learningRate;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
    }

    public double getLearningRate() {
        return learningRate;
    }

    public double getBeta1() {
        return beta1;
    }

    public double getBeta2() {
        return beta2;
    }

    public double getEpsilon() {
        return epsilon;
    }

    @Override
    public long stateSize(long numParams) {
        return 2 * numParams;
    }

    @Override
    public GradientUpdater instantiate(INDArray viewArray, boolean initializeViewArray) {
        Updater u = new Updater(this);
        u.setStateViewArray(viewArray, viewArray.shape(), viewArray.ordering(), initializeViewArray);
        return u;
    }

    @Override
    public GradientUpdater instantiate(Map<String, INDArray> updaterState, boolean initializeStateArrays) {
        Updater u = new Updater(this);
        u.setState(updaterState, initializeStateArrays);
        return u;
    }

    @Override
    public FastAdam clone() {
        return new FastAdam(learningRate, beta1, beta2, epsilon);
    }

    @Override
    public double getLearningRate(int iteration, int epoch) {
        return learningRate;
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public void setLrAndSchedule(double lr, ISchedule lrSchedule) {
        if (lrSchedule != null) {
            throw new UnsupportedOperationException("FastAdam takes a fixed learning rate per epoch, not a schedule");
        }
        this.learningRate = lr;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FastAdam f && Double.compare(learningRate, f.learningRate) == 0
                && Double.compare(beta1, f.beta1) == 0 && Double.compare(beta2, f.beta2) == 0
                && Double.compare(epsilon, f.epsilon) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(learningRate, beta1, beta2, epsilon);
    }

    @Override
    public String toString() {
        return "FastAdam(lr=" + learningRate + ", beta1=" + beta1 + ", beta2=" + beta2 + ", epsilon=" + epsilon + ")";
    }

    /**
     * How often (in iterations) moments too small to matter are set to 0. A parameter whose gradient stays 0 (a dead
     * ReLU unit) sees m and v decay into float subnormals, where they stay (beta times the smallest subnormal rounds
     * back to it), and arithmetic on subnormals is several times slower: measured, the whole update of the 784-64-10
     * student took 2.5x longer once they appeared. Values below 1e-30 change no update (epsilon is 1e-8).
     */
    private static final int FLUSH_EVERY = 64;
    private static final double FLUSH_BELOW = 1e-30;

    /** Whether the step at {@code iteration} flushes tiny moments to 0 (for a fused implementation of this rule). */
    static boolean flushes(int iteration) {
        return iteration % FLUSH_EVERY == 0;
    }

    private static void flushSubnormals(INDArray moment) {
        Nd4j.getExecutioner().exec(new CompareAndSet(moment, 0.0, Conditions.absLessThan(FLUSH_BELOW)));
    }

    /** The state of one parameter block: m and v, halves of DL4J's updater view. */
    private static final class Updater implements GradientUpdater<FastAdam> {
        private final FastAdam config;
        private INDArray m;
        private INDArray v;
        private INDArray lastGradient;
        private INDArray flat;
        private INDArray scratch;

        Updater(FastAdam config) {
            this.config = config;
        }

        @Override
        public FastAdam getConfig() {
            return config;
        }

        @Override
        public void setState(Map<String, INDArray> state, boolean initialize) {
            m = state.get("M");
            v = state.get("V");
            if (m == null || v == null) {
                throw new IllegalStateException("Adam state needs M and V, got " + state.keySet());
            }
            if (initialize) {
                m.assign(0);
                v.assign(0);
            }
        }

        @Override
        public Map<String, INDArray> getState() {
            return Map.of("M", m, "V", v);
        }

        @Override
        public void setStateViewArray(INDArray viewArray, long[] gradientShape, char gradientOrder, boolean initialize) {
            if (!viewArray.isRowVector() && !viewArray.isVector()) {
                throw new IllegalArgumentException("Adam's state view must be a vector, got shape "
                        + java.util.Arrays.toString(viewArray.shape()));
            }
            if (initialize) {
                viewArray.assign(0);
            }
            long n = viewArray.length() / 2;
            INDArray flat = viewArray.reshape(viewArray.length());
            m = flat.get(NDArrayIndex.interval(0, n));
            v = flat.get(NDArrayIndex.interval(n, 2 * n));
        }

        @Override
        public void applyUpdater(INDArray gradient, int iteration, int epoch) {
            if (m == null) {
                throw new IllegalStateException("Adam's state is not set");
            }
            if (gradient != lastGradient) {
                // a rank-1 view of the gradient (contiguous: a block of the network's flat gradient), made once per
                // gradient view rather than per step, and the scratch array the update works in
                lastGradient = gradient;
                flat = gradient.reshape(gradient.length());
                if (flat.data().address() != gradient.data().address() || flat.offset() != gradient.offset()) {
                    throw new IllegalStateException("the gradient is not contiguous: " + gradient.shapeInfoToString());
                }
                if (scratch == null || scratch.length() != flat.length() || scratch.dataType() != flat.dataType()) {
                    try (var ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) { // lives across steps
                        scratch = Nd4j.createUninitialized(flat.dataType(), flat.length());
                    }
                }
            }
            INDArray g = flat;
            INDArray m = this.m.rank() == 1 ? this.m : this.m.reshape(this.m.length()); // views, as the gradient's
            INDArray v = this.v.rank() == 1 ? this.v : this.v.reshape(this.v.length());
            INDArray s = scratch;
            double b1 = config.beta1;
            double b2 = config.beta2;
            // in place and into one scratch array: a fresh array per operation cost more than the arithmetic
            m.muli(b1).addi(g.mul(1 - b1, s));
            v.muli(b2).addi(g.mul(g, s).muli(1 - b2));
            double alphat = config.learningRate * Math.sqrt(1 - Math.pow(b2, iteration + 1))
                    / (1 - Math.pow(b1, iteration + 1));
            if (Double.isNaN(alphat) || alphat == 0.0) {
                alphat = config.epsilon; // as DL4J's Adam
            }
            if (flushes(iteration)) {
                flushSubnormals(m);
                flushSubnormals(v);
            }
            Nd4j.exec(new Sqrt(v, s));
            s.addi(config.epsilon);
            g.assign(m).muli(alphat).divi(s);
        }
    }
}
