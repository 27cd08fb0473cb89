package org.distillery.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.distillery.model.calibration.Reliability;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class NextTokenMetricsTest {
    @Test
    void uniformLogitsGiveLog2VBitsAndPerplexityV() {
        NextTokenMetrics m = new NextTokenMetrics(NextTokenMetrics.DEFAULT_BINS);
        assertThat(m.bitsPerChar()).isNaN();
        for (int i = 0; i < 7; i++) {
            m.add(new float[8], i);
        }
        assertThat(m.tokens()).isEqualTo(7);
        assertThat(m.bitsPerChar()).isCloseTo(3.0, within(1e-12));
        assertThat(m.perplexity()).isCloseTo(8.0, within(1e-9));
        assertThat(m.accuracy()).isCloseTo(1 / 7.0, within(1e-12)); // the argmax is token 0, right once
        // confidence 1/8 everywhere, accuracy 1/7: one bin, gap 1/7 - 1/8
        assertThat(m.ece()).isCloseTo(1 / 7.0 - 1 / 8.0, within(1e-12));
    }

    @Test
    void knownLogProbabilities() {
        NextTokenMetrics m = new NextTokenMetrics(10);
        // softmax(ln 3, 0, 0, ln 4) = (3, 1, 1, 4) / 9
        float[] z = {(float) Math.log(3), 0, 0, (float) Math.log(4)};
        m.add(z, 0);
        m.add(z, 3);
        double nats = (-Math.log(3 / 9.0) - Math.log(4 / 9.0)) / 2;
        assertThat(m.nats()).isCloseTo(nats, within(1e-6));
        assertThat(m.bitsPerChar()).isCloseTo(nats / Math.log(2), within(1e-6));
        assertThat(m.perplexity()).isCloseTo(Math.exp(nats), within(1e-6));
        assertThat(m.accuracy()).isEqualTo(0.5);
        assertThat(m.ece()).isCloseTo(Math.abs(4 / 9.0 - 0.5), within(1e-6));
        assertThatThrownBy(() -> m.add(z, 4)).hasMessage("target token 4 outside [0, 4)");
    }

    @Test
    void batchesCountOnlyScoredPositionsAndMergeLikeOneAccumulator() {
        Nd4j.getRandom().setSeed(1);
        INDArray logits = Nd4j.randn(DataType.FLOAT, 3, 5, 4).muli(3);
        INDArray mask = Nd4j.create(new float[][] {{1, 1, 0, 1}, {0, 1, 1, 1}, {0, 0, 0, 1}});
        int[][] targets = {{0, 1, 2, 3}, {4, 3, 2, 1}, {0, 0, 0, 2}};
        NextTokenMetrics batch = new NextTokenMetrics(15);
        batch.addBatch(logits, targets, mask);
        NextTokenMetrics rows = new NextTokenMetrics(15);
        NextTokenMetrics half = new NextTokenMetrics(15);
        float[][] all = new float[7][];
        int[] labels = new int[7];
        int k = 0;
        for (int n = 0; n < 3; n++) {
            for (int t = 0; t < 4; t++) {
                if (mask.getFloat(n, t) > 0) {
                    float[] z = logits.get(NDArrayIndex.point(n), NDArrayIndex.all(), NDArrayIndex.point(t))
                            .toFloatVector();
                    (k % 2 == 0 ? rows : half).add(z, targets[n][t]);
                    all[k] = z;
                    labels[k++] = targets[n][t];
                }
            }
        }
        rows.merge(half);
        assertThat(batch.tokens()).isEqualTo(7).isEqualTo(rows.tokens());
        assertThat(batch.nats()).isCloseTo(rows.nats(), within(1e-12));
        assertThat(batch.accuracy()).isEqualTo(rows.accuracy());
        assertThat(batch.ece()).isCloseTo(rows.ece(), within(1e-12))
                .isCloseTo(Reliability.ece(all, labels, 15), within(1e-9));
        assertThatThrownBy(() -> batch.merge(new NextTokenMetrics(10)))
                .hasMessage("cannot merge metrics of 10 ECE bins into 15");
        assertThatThrownBy(() -> batch.addBatch(logits, targets, Nd4j.ones(3, 5)))
                .hasMessage("mask must be [N, T] = [3, 4], got [3, 5]");
    }

    @Test
    void eceMatchesTheClassificationReliabilityTable() {
        Random r = new Random(9);
        float[][] z = new float[500][7];
        int[] y = new int[500];
        NextTokenMetrics m = new NextTokenMetrics(15);
        for (int i = 0; i < z.length; i++) {
            for (int c = 0; c < 7; c++) {
                z[i][c] = (float) (r.nextGaussian() * 2);
            }
            y[i] = r.nextInt(7);
            m.add(z[i], y[i]);
        }
        assertThat(m.ece()).isCloseTo(Reliability.ece(z, y, 15), within(1e-9)).isPositive();
    }

    @Test
    void agreementKnownValues() {
        TokenAgreement a = new TokenAgreement();
        assertThat(a.top1()).isNaN();
        float[] teacher = {5, 1, 0, 0, 0, 0, 0};
        a.add(teacher, teacher.clone()); // identical: agree, KL 0
        a.add(teacher, new float[] {0, 9, 8, 7, 6, 1, 5}); // six student logits beat the teacher's top (0)
        a.add(teacher, new float[] {1, 9, 8, 7, 6, 0, 0}); // four beat it: in the student's top 5
        assertThat(a.tokens()).isEqualTo(3);
        assertThat(a.top1()).isCloseTo(1 / 3.0, within(1e-12));
        assertThat(a.top5()).isCloseTo(2 / 3.0, within(1e-12));

        TokenAgreement kl = new TokenAgreement();
        float[] p = {(float) Math.log(0.5), (float) Math.log(0.5)};
        float[] q = {(float) Math.log(0.25), (float) Math.log(0.75)};
        kl.add(p, q);
        kl.add(p, p);
        double expected = (0.5 * Math.log(0.5 / 0.25) + 0.5 * Math.log(0.5 / 0.75)) / 2;
        assertThat(kl.meanKl()).isCloseTo(expected, within(1e-6));
        assertThat(new TokenAgreement().merge(kl).meanKl()).isEqualTo(kl.meanKl());
        assertThatThrownBy(() -> kl.add(p, new float[3])).hasMessage("teacher has 2 logits, student 3");
    }

    @Test
    void agreementOverBatchesSkipsMaskedPositions() {
        // [N = 1, V = 2, T = 4]
        INDArray teacher = Nd4j.create(new float[] {3, 0, 0, 3, 0, 3, 0, 0}, new long[] {1, 2, 4}, 'c');
        INDArray student = Nd4j.create(new float[] {0, 0, 3, 3, 3, 3, 0, 0}, new long[] {1, 2, 4}, 'c');
        TokenAgreement a = new TokenAgreement();
        a.addBatch(teacher, student, Nd4j.create(new float[][] {{1, 0, 0, 1}}));
        // t=0: teacher [3,0] -> 0, student [0,3] -> 1: disagree; t=3: teacher [3,0], student [3,0]: agree
        assertThat(a.tokens()).isEqualTo(2);
        assertThat(a.top1()).isEqualTo(0.5);
        assertThat(a.top5()).isEqualTo(1.0);
    }
}
