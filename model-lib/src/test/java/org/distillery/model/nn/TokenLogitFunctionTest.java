package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.loss.TokenDistillationLoss;
import org.junit.jupiter.api.Test;

/** The DL4J LSTM LM behind {@link TokenLogitFunction}: the same logits as {@link LanguageModels#logits}. */
class TokenLogitFunctionTest {
    private static final int V = 7;
    private static final int[][] IDS = {{1, 2, 3, 4, 5, 6}, {1, 6, 6, 0, 2, 3}};

    private static MultiLayerNetwork lm() {
        return LstmArchitecture.parse("lstm:4:8").build(V, TokenDistillationLoss.hardLabelsOnly(), 1e-2, 3);
    }

    @Test
    void anLstmLmGivesLanguageModelsLogits() {
        MultiLayerNetwork net = lm();
        TokenLogitFunction lm = LanguageModels.of(net);
        assertThat(lm.vocabulary()).isEqualTo(V);
        assertThat(lm.context()).isEmpty();
        assertThat(lm.threadSafe()).isFalse();
        assertThat(lm.logits(IDS)).isEqualTo(LanguageModels.logits(net, IDS));
    }

    @Test
    void aDl4jZipIsReadAsATeacherLmOfItsVocabularyOnly() {
        byte[] zip = Models.toBytes(lm(), false);
        TokenLogitFunction lm = LanguageModels.teacher(new ModelFile("lm.zip", zip), null, V);
        assertThat(lm.logits(IDS)).isEqualTo(LanguageModels.logits(Models.fromBytes(zip, "lm.zip"), IDS));
        assertThatThrownBy(() -> LanguageModels.teacher(new ModelFile("lm.zip", zip), null, 9))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("teacher LM lm.zip scores 7 tokens, but the vocabulary has 9");
        assertThatThrownBy(() -> LanguageModels.teacher(new ModelFile("lm.zip", zip), "logits", V))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("an output name is given");
    }
}
