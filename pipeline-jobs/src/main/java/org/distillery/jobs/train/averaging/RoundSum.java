package org.distillery.jobs.train.averaging;

import java.io.Serializable;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The sum of workers' results in one averaging round (what DL4J's {@code ParameterAveragingAggregationTuple} holds),
 * as plain float arrays: Java serialisation writes those in bulk, where ND4J writes an {@code INDArray} element by
 * element through a {@code DataOutputStream} (most of a round's serialisation cost when results cross to the driver).
 * Adding writes into the left operand's arrays (unless it is empty), as Spark allows of aggregation functions.
 */
final class RoundSum implements Serializable {
    private static final long serialVersionUID = 1L;
    static final RoundSum EMPTY = new RoundSum(null, null, 0, 0);

    final float[] params;
    final float[] updater; // null with updaters that keep no state (SGD)
    final double score;
    final int count;

    private RoundSum(float[] params, float[] updater, double score, int count) {
        this.params = params;
        this.updater = updater;
        this.score = score;
        this.count = count;
    }

    /** One worker's result; a worker that had no data (null parameters) counts for nothing, as in DL4J. */
    static RoundSum of(ParameterAveragingTrainingResult result) {
        if (result.getParameters() == null) {
            return EMPTY;
        }
        INDArray updater = result.getUpdaterState();
        return new RoundSum(floats(result.getParameters()), updater == null ? null : floats(updater),
                result.getScore(), 1);
    }

    /** A sum as it travels through the averaging exchange ({@link AveragingExchange}). */
    static RoundSum of(float[] params, float[] updater, double score, int count) {
        return count == 0 ? EMPTY : new RoundSum(params, updater, score, count);
    }

    /** A float array's values, copied in bulk (ND4J's {@code toFloatVector} and {@code createFromArray} go element by element). */
    static float[] floats(INDArray array) {
        float[] values = new float[Math.toIntExact(array.length())];
        if (!array.isView() && (array.ordering() == 'c' || array.isVector()) && array.data().length() == array.length()) {
            nio(array).get(values); // its whole buffer, in order
        } else {
            INDArray copy = array.dup('c');
            nio(copy).get(values);
            copy.close(); // now, not at the next garbage collection: rounds make many of these
        }
        return values;
    }

    /** A new float array of this shape holding these values, copied in bulk. */
    static INDArray array(float[] values, long[] shape) {
        INDArray array = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
        nio(array).put(values);
        return array;
    }

    /** {@code values} written over the values of {@code array}, an array made by {@link #array} of that length. */
    static void copy(float[] values, INDArray array) {
        if (array.length() != values.length) {
            throw new IllegalArgumentException("internal error: " + values.length + " values for an array of "
                    + array.length());
        }
        nio(array).put(values);
    }

    private static FloatBuffer nio(INDArray array) {
        return array.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** Sets these averages on {@code net}: its parameters, and its updater state when there is one (DL4J's step). */
    void setOn(org.deeplearning4j.nn.multilayer.MultiLayerNetwork net) {
        INDArray state = net.getUpdater().getStateViewArray();
        net.setParameters(array(params, net.params().shape()));
        if (updater != null) {
            net.getUpdater().setStateViewArray(null, array(updater, state.shape()), false);
        }
    }

    RoundSum add(RoundSum other) {
        if (other.count == 0) {
            return this;
        }
        if (count == 0) {
            return other;
        }
        addInto(params, other.params);
        if (updater != null) {
            addInto(updater, other.updater);
        }
        return new RoundSum(params, updater, score + other.score, count + other.count);
    }

    private static void addInto(float[] sum, float[] x) {
        for (int i = 0; i < sum.length; i++) {
            sum[i] += x[i];
        }
    }

    /** The averages, in place (float division, as DL4J's {@code divi} on float arrays). */
    RoundSum averaged() {
        divide(params, count);
        if (updater != null) {
            divide(updater, count);
        }
        return this;
    }

    private static void divide(float[] sum, int n) {
        for (int i = 0; i < sum.length; i++) {
            sum[i] /= n;
        }
    }
}
