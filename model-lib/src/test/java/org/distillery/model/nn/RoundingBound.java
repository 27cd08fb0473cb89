package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * How far two float32 evaluations of one dense layer on the same input may differ when they differ only in the order
 * in which they sum: another gemm kernel, blocking or thread split, which is what changes between CPUs, OpenBLAS core
 * types and call paths (the fast dense path vs DL4J's layers). Comparing such results bit for bit fails on some
 * machines; comparing them within a fixed epsilon is a guess. This bound is derived instead, element by element:
 *
 * <ul>
 *   <li>each evaluation of y = h W + b (dot products of length n, plus the bias) is within
 *       γ<sub>n+1</sub> (|h| |W| + |b|) of the exact value, γ<sub>k</sub> = k u / (1 - k u), u = 2<sup>-24</sup>
 *       (Higham, <i>Accuracy and Stability of Numerical Algorithms</i>, 2nd ed., §3.1), so two evaluations are within
 *       twice that;</li>
 *   <li>an activation passes at most its Lipschitz constant times that (3 (|a| + d)<sup>2</sup> locally for the
 *       cube), plus a few units of rounding of its own result on each side (8 u |y|).</li>
 * </ul>
 *
 * A network is checked layer by layer, each layer of one evaluation against the other's layer fed the same input:
 * propagating worst-case bounds through several layers multiplies them by each layer's ||W||<sub>1</sub> and soon
 * says nothing. Per layer, the bound is a few ulps of the result's scale, and a wrong result (a missing bias, a wrong
 * activation, a swapped weight) is orders of magnitude outside it.
 */
final class RoundingBound {
    static final double U = 0x1p-24;
    /** Upper bounds of |f'| of element-wise activations. */
    private static final Map<Activation, Double> LIPSCHITZ = Map.ofEntries(Map.entry(Activation.IDENTITY, 1.0),
            Map.entry(Activation.RELU, 1.0), Map.entry(Activation.RELU6, 1.0), Map.entry(Activation.LEAKYRELU, 1.0),
            Map.entry(Activation.TANH, 1.0), Map.entry(Activation.HARDTANH, 1.0), Map.entry(Activation.ELU, 1.0),
            Map.entry(Activation.SOFTPLUS, 1.0), Map.entry(Activation.SOFTSIGN, 1.0),
            Map.entry(Activation.RECTIFIEDTANH, 1.0), Map.entry(Activation.SIGMOID, 0.25),
            Map.entry(Activation.HARDSIGMOID, 0.2), Map.entry(Activation.SELU, 1.76), // lambda * alpha = 1.7581
            Map.entry(Activation.SWISH, 1.2), Map.entry(Activation.GELU, 1.2), Map.entry(Activation.MISH, 1.2),
            Map.entry(Activation.RATIONALTANH, 1.2)); // 1.100, 1.129, 1.090, 1.144 at their steepest

    private RoundingBound() {
    }

    /**
     * Checks an evaluation of {@code net} layer by layer against DL4J's own layers: {@code actual[l]} holds the
     * evaluation's output of layer l on {@code x} (for the last layer its pre-activation, the logits); DL4J's layer l
     * is fed {@code actual[l - 1]} (or {@code x}) and the two are compared within the bound.
     */
    static void assertLayersMatchDl4j(MultiLayerNetwork net, INDArray x, INDArray[] actual, String what) {
        int last = net.getnLayers() - 1;
        INDArray in = x.castTo(DataType.FLOAT);
        for (int l = 0; l <= last; l++) {
            INDArray w = net.getLayer(l).getParam("W");
            INDArray b = net.getLayer(l).getParam("b");
            INDArray pre = in.mmul(w).addiRowVector(b);
            INDArray expected = l == last ? pre
                    : net.getLayer(l).activate(in, false, LayerWorkspaceMgr.noWorkspaces()).dup();
            IActivation fn = l == last ? null : ((BaseLayer) net.getLayer(l).conf().getLayer()).getActivationFn();
            assertWithin(actual[l], expected, bound(in, w, b, fn, expected), what + ", layer " + l);
            in = actual[l];
        }
    }

    /**
     * The bound on two evaluations of layer (W, b, activation {@code fn}, null for the pre-activation) on input
     * {@code h}, whose result is about {@code y}.
     */
    static double[][] bound(INDArray h, INDArray w, INDArray b, IActivation fn, INDArray y) {
        double[][] hh = h.castTo(DataType.DOUBLE).toDoubleMatrix();
        double[][] ww = w.castTo(DataType.DOUBLE).toDoubleMatrix();
        double[] bb = b == null ? new double[ww[0].length] : b.castTo(DataType.DOUBLE).toDoubleVector();
        double[][] yy = y.castTo(DataType.DOUBLE).toDoubleMatrix();
        double gamma = gamma(ww.length + 1);
        double[][] out = new double[hh.length][ww[0].length];
        for (int r = 0; r < hh.length; r++) {
            for (int c = 0; c < ww[0].length; c++) {
                double abs = Math.abs(bb[c]);
                double pre = bb[c];
                for (int k = 0; k < ww.length; k++) {
                    abs += Math.abs(hh[r][k] * ww[k][c]);
                    pre += hh[r][k] * ww[k][c];
                }
                double d = 2 * gamma * abs + 1e-30;
                out[r][c] = fn == null ? d : lipschitz(fn, pre, d) * d + 8 * U * Math.abs(yy[r][c]);
            }
        }
        return out;
    }

    /** Asserts |actual - expected| within {@code bound} everywhere, naming the worst element. */
    static void assertWithin(INDArray actual, INDArray expected, double[][] bound, String what) {
        assertThat(actual.shape()).as(what + " shape").containsExactly(expected.shape());
        double[][] a = actual.castTo(DataType.DOUBLE).toDoubleMatrix();
        double[][] e = expected.castTo(DataType.DOUBLE).toDoubleMatrix();
        double worst = 0;
        String where = "";
        for (int r = 0; r < a.length; r++) {
            for (int c = 0; c < a[r].length; c++) {
                double ratio = Math.abs(a[r][c] - e[r][c]) / bound[r][c];
                if (!(ratio <= worst)) { // NaN lands here too
                    worst = ratio;
                    where = "[" + r + ", " + c + "]: " + a[r][c] + " vs " + e[r][c] + ", bound " + bound[r][c];
                }
            }
        }
        assertThat(worst).as("%s: worst difference / rounding bound at %s", what, where).isLessThanOrEqualTo(1.0);
    }

    private static double gamma(int n) {
        return n * U / (1 - n * U);
    }

    private static double lipschitz(IActivation fn, double pre, double d) {
        if (fn.getClass() == Activation.CUBE.getActivationFunction().getClass()) {
            double reach = Math.abs(pre) + d;
            return 3 * reach * reach;
        }
        for (Map.Entry<Activation, Double> e : LIPSCHITZ.entrySet()) {
            if (fn.getClass() == e.getKey().getActivationFunction().getClass()) {
                return e.getValue();
            }
        }
        throw new IllegalArgumentException("no Lipschitz bound for activation " + fn);
    }
}
