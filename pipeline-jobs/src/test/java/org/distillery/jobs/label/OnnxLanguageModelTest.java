package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.distillery.jobs.TeacherFiles;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.nn.ModelFile;
import org.distillery.model.nn.Models;
import org.distillery.model.nn.TokenLogitFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A GPT-2 built by Hugging Face transformers and exported by torch.onnx.export ({@link TeacherFiles#gpt2}), read as a
 * teacher LM: our logits [N, V, T] equal the framework's [N, T, V] within 1e-4, with a symbolic batch and sequence
 * axis and with a fixed context (windows shorter than it padded); what is not an LM we can run is refused in one line.
 */
class OnnxLanguageModelTest {
    private static final double TOLERANCE = 1e-4;
    @TempDir
    static Path dir;
    static Path lm;
    static Map<String, Object> expected;
    static int vocabulary;

    @BeforeAll
    static void fixtures() throws Exception {
        lm = TeacherFiles.gpt2(dir.resolve("lm"));
        expected = new ObjectMapper().readValue(lm.resolve("expected.json").toFile(), Map.class);
        vocabulary = (Integer) expected.get("vocabulary");
    }

    /** The model file with the external data files it names (torch.onnx.export writes the weights beside it). */
    private static ModelFile file(String name) throws IOException {
        byte[] bytes = Files.readAllBytes(lm.resolve(name));
        Map<String, byte[]> side = new TreeMap<>();
        for (String location : Models.externalData(bytes, name)) {
            side.put(location, Files.readAllBytes(lm.resolve(location)));
        }
        return new ModelFile(name, bytes, new TreeMap<>(side));
    }

    private static TokenLogitFunction teacher(String name) throws IOException {
        return LanguageModels.teacher(file(name), null, vocabulary);
    }

    @Test
    void symbolicAxesGiveTheFrameworksLogits() throws IOException {
        TokenLogitFunction gpt2 = teacher("gpt2_dynamic.onnx");
        assertThat(gpt2.context()).isEmpty();
        assertThat(gpt2.describe()).contains("attention_mask of ones");
        assertMatchesFramework("gpt2_dynamic.onnx", gpt2);
    }

    @Test
    void aFixedContextAndBatchGiveTheFrameworksLogitsForShorterWindowsAndOtherBatchSizes() throws IOException {
        TokenLogitFunction gpt2 = teacher("gpt2_fixed.onnx");
        assertThat(gpt2.context()).hasValue((Integer) expected.get("context"));
        assertThat(gpt2.describe()).contains("fixed context of 16", "fixed batch of 2");
        assertMatchesFramework("gpt2_fixed.onnx", gpt2);
    }

    @SuppressWarnings("unchecked")
    private static void assertMatchesFramework(String name, TokenLogitFunction gpt2) {
        var models = (Map<String, Map<String, List<Map<String, Object>>>>) expected.get("models");
        double worst = 0;
        for (Map<String, Object> c : models.get(name).get("cases")) {
            int[][] ids = ((List<List<Integer>>) c.get("ids")).stream()
                    .map(w -> w.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
            List<List<List<Number>>> want = (List<List<List<Number>>>) c.get("logits"); // [N, T, V]
            INDArray z = gpt2.logits(ids); // [N, V, T]
            assertThat(z.shape()).containsExactly(ids.length, vocabulary, ids[0].length);
            for (int n = 0; n < ids.length; n++) {
                for (int t = 0; t < ids[0].length; t++) {
                    for (int v = 0; v < vocabulary; v++) {
                        worst = Math.max(worst, Math.abs(z.getDouble(n, v, t) - want.get(n).get(t).get(v).doubleValue()));
                    }
                }
            }
        }
        System.out.printf("%s: max |ours - transformers| = %.3g (%s)%n", name, worst, gpt2.describe());
        assertThat(worst).isLessThanOrEqualTo(TOLERANCE);
    }

    @Test
    void aWindowLongerThanTheFixedContextIsRefused() throws IOException {
        TokenLogitFunction gpt2 = teacher("gpt2_fixed.onnx");
        assertThatThrownBy(() -> gpt2.logits(new int[][] {new int[17]})).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a window of 17 tokens is longer than the fixed context of 16 tokens of ONNX LM"
                        + " gpt2_fixed.onnx");
    }

    @Test
    void idsOutsideTheVocabularyAreRefused() throws IOException {
        TokenLogitFunction gpt2 = teacher("gpt2_dynamic.onnx");
        assertThatThrownBy(() -> gpt2.logits(new int[][] {{1, 2, 3}, {4, 5, vocabulary}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("token id 53 outside the vocabulary [0, 53)"
                        + " of ONNX LM gpt2_dynamic.onnx at window 1, position 2");
        assertThatThrownBy(() -> gpt2.logits(new int[][] {{-1}})).hasMessageStartingWith("token id -1 outside");
        assertThatThrownBy(() -> gpt2.logits(new int[][] {{1, 2}, {1}}))
                .hasMessage("windows must have equal lengths, got 1 tokens in window 1 and 2 in window 0");
    }

    @Test
    void aVocabularyOfAnotherSizeIsRefused() {
        assertThatThrownBy(() -> LanguageModels.teacher(file("gpt2_dynamic.onnx"), null, 40))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("teacher LM gpt2_dynamic.onnx scores 53 tokens, but the vocabulary has 40");
    }

    @Test
    void modelsThatAreNotCausalLmsOverInt64IdsAreRefusedInOneLine() {
        assertRefused("int32_ids.onnx", null, "ONNX LM int32_ids.onnx: token ids input 'input_ids' must be int64"
                + " [N, T], got TensorInfo(javaType=INT32");
        assertRefused("extra_input.onnx", null, "ONNX LM extra_input.onnx has inputs input_ids [N, N], position_ids"
                + " [N, N]: only token ids ('input_ids') and an optional 'attention_mask' are fed, not position_ids");
        assertRefused("two_outputs.onnx", null, "ONNX LM two_outputs.onnx has 2 outputs (");
        assertRefused("two_outputs.onnx", "probabilities", "'probabilities' is not an output of ONNX LM"
                + " two_outputs.onnx (its outputs: ");
    }

    /** What a job does with a teacher LM it drops (e.g. one it refuses): its ONNX Runtime session is released. */
    @Test
    void closingReleasesTheSession() throws IOException {
        TokenLogitFunction gpt2 = teacher("gpt2_dynamic.onnx");
        int[][] ids = {{1, 2, 3}};
        assertThat(gpt2.logits(ids).shape()).containsExactly(1, vocabulary, 3);
        gpt2.close();
        assertThatThrownBy(() -> gpt2.logits(ids)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void theLogitsOutputCanBeNamed() throws IOException {
        TokenLogitFunction named = LanguageModels.teacher(file("two_outputs.onnx"), "scores", vocabulary);
        assertThat(named.logits(new int[][] {{1, 2, 3}}).shape()).containsExactly(1, vocabulary, 3);
    }

    private static void assertRefused(String name, String output, String start) {
        assertThatThrownBy(() -> LanguageModels.teacher(file(name), output, vocabulary))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(start)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
