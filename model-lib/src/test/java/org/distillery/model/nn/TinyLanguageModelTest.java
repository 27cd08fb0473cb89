package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.loss.TokenDistillationLoss;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.Documents;
import org.distillery.model.text.NextTokenMetrics;
import org.distillery.model.text.TokenAgreement;
import org.distillery.model.text.WindowBatches;
import org.distillery.model.text.Windowing;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The whole LM path on a generated, repetitive corpus: a small teacher learns it, and a smaller student distilled from
 * the teacher's token distributions (forward KL at T = 2) comes closer to it. Seeded; about 15 s on 2 busy cores.
 */
class TinyLanguageModelTest {
    private static final String[] WHO = {"the cat", "a dog", "my bird"};
    private static final String[] DID = {" sat on ", " ran to ", " looked at "};
    private static final String[] WHAT = {"the mat.", "a tree.", "the house."};
    private static final Windowing WINDOWS = new Windowing(24, 8);
    private static final int BATCH = 12;

    /** Documents of two to four sentences "who did what.", each part drawn uniformly. */
    private static List<String> corpus(long seed, int documents) {
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int d = 0; d < documents; d++) {
            StringBuilder s = new StringBuilder();
            for (int i = 2 + r.nextInt(3); i > 0; i--) {
                s.append(WHO[r.nextInt(3)]).append(DID[r.nextInt(3)]).append(WHAT[r.nextInt(3)]);
                s.append(i > 1 ? " " : "");
            }
            out.add(s.toString());
        }
        return out;
    }

    private static List<WindowBatches.Example> windows(List<String> docs, CharVocabulary v) {
        List<WindowBatches.Example> out = new ArrayList<>();
        for (int i = 0; i < docs.size(); i++) {
            WINDOWS.cut(Documents.stream(v, "doc" + i, docs.get(i))).forEach(w -> out.add(WindowBatches.Example.of(w)));
        }
        return out;
    }

    private static List<WindowBatches.Example> batch(List<WindowBatches.Example> all, Random r) {
        List<WindowBatches.Example> b = new ArrayList<>();
        for (int i = 0; i < BATCH; i++) {
            b.add(all.get(r.nextInt(all.size())));
        }
        return b;
    }

    /** [N, V, T] logits as [N][T][V] rows, what a label job stores per window. */
    private static float[][][] perPosition(INDArray z) {
        float[][][] out = new float[(int) z.size(0)][(int) z.size(2)][(int) z.size(1)];
        for (int n = 0; n < out.length; n++) {
            for (int t = 0; t < out[n].length; t++) {
                for (int v = 0; v < out[n][t].length; v++) {
                    out[n][t][v] = z.getFloat(n, v, t);
                }
            }
        }
        return out;
    }

    @Test
    void aTeacherLearnsTheCorpusAndADistilledStudentApproachesIt() {
        List<String> train = corpus(1, 200);
        CharVocabulary v = CharVocabulary.build(train, 1);
        List<WindowBatches.Example> examples = windows(train, v);
        List<WindowBatches.Example> heldOut = windows(corpus(2, 20), v);
        DataSet test = WindowBatches.toDataSet(heldOut, v.size(), 1);
        int[][] targets = heldOut.stream().map(WindowBatches.Example::targets).toArray(int[][]::new);
        Random r = new Random(3);

        MultiLayerNetwork teacher = LstmArchitecture.parse("lstm:12:48").build(v.size(),
                TokenDistillationLoss.hardLabelsOnly(), 0.02, 7);
        for (int step = 0; step < 80; step++) {
            teacher.fit(WindowBatches.toDataSet(batch(examples, r), v.size(), 1));
        }
        NextTokenMetrics taught = new NextTokenMetrics(NextTokenMetrics.DEFAULT_BINS);
        INDArray teacherTest = teacher.output(test.getFeatures(), false);
        taught.addBatch(teacherTest, targets, test.getLabelsMaskArray());
        double log2V = Math.log(v.size()) / Math.log(2);
        // The text's own entropy is ~0.2 bits/char (a choice of 27 every ~20 characters); uniform is log2(V) = 4.5.
        assertThat(taught.bitsPerChar()).as("teacher bits/char, log2(V) = %s", log2V).isLessThan(1.0);
        assertThat(taught.perplexity()).isLessThan(2.0);

        MultiLayerNetwork student = LstmArchitecture.parse("lstm:8:16").build(v.size(),
                new TokenDistillationLoss(2.0, 1.0), 0.02, 11);
        TokenAgreement before = new TokenAgreement();
        before.addBatch(teacherTest, student.output(test.getFeatures(), false), test.getLabelsMaskArray());
        for (int step = 0; step < 80; step++) {
            List<WindowBatches.Example> b = batch(examples, r);
            float[][][] soft = perPosition(LanguageModels.logits(teacher,
                    b.stream().map(WindowBatches.Example::inputs).toArray(int[][]::new)));
            List<WindowBatches.Example> kd = new ArrayList<>();
            for (int i = 0; i < b.size(); i++) {
                kd.add(b.get(i).withTeacher(soft[i]));
            }
            student.fit(WindowBatches.toDataSet(kd, v.size(), 2.0));
        }
        TokenAgreement after = new TokenAgreement();
        after.addBatch(teacherTest, student.output(test.getFeatures(), false), test.getLabelsMaskArray());
        assertThat(after.meanKl()).as("KL(teacher || student) per token, %s before", before.meanKl())
                .isLessThan(before.meanKl() / 4);
        assertThat(after.top1()).isGreaterThan(before.top1()).isGreaterThan(0.7);
    }
}
